"""Frequency and deadline phrases in a regulation's text, for ``rules-engine draft`` (see :mod:`rules_engine.drafting`).

The text is cut into sentences (at ``。！？；`` and line ends), each with the article (``第八条``) and chapter
(``第三章``) it stands under. Every sentence is matched against :data:`PHRASES`, a table of patterns tried in
order: a phrase found takes its span of the sentence, so a later, looser pattern cannot read the same words
again (``每年不超过2次`` is "at most 2 a year", never also "at least 2"). A phrase gives the numbers of a rule:
``period`` with ``at_least`` or ``at_most``, a deadline ``window`` in the year, or ``within_days`` after a
triggering event. Phrases whose numbers no rule can hold (``每两年``, ``5个工作日内``) are found too and come
back as :class:`Unencodable`, with the reason, so that the caller lists them rather than drop them.

Numbers may be written in digits (full-width ones too) or in Chinese numerals (``一``, ``两``, ``十五``,
``一百二十``). Only recognition lives here: no file is read or written.
"""

from __future__ import annotations

import calendar
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

#: A number as the regulations write it: digits, or Chinese numerals up to the thousands.
NUM = r"[0-9零〇一二两三四五六七八九十百千]+"
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}

#: The period words after 每 and the rule's ``period`` each means.
_PERIOD_WORDS = {"年": "year", "年度": "year", "半年": "half_year", "季度": "quarter", "季": "quarter", "月": "month"}
_PERIOD = r"(?:一)?(?:个)?(?P<period>半年|年度|年|季度|季|月)"
#: Words between the period and the count: no sentence stop and no second 每.
_GAP = r"(?P<gap>[^，,：:每]{0,24}?)"
#: "at least": the count is a minimum.
_LEAST = r"(?:至少|最少|不少于|不得少于|不低于)"
#: "at most": the count is a maximum.
_MOST = r"(?:不超过|不得超过|至多|最多|不多于)"
_COUNT = rf"(?P<n>{NUM})\s*(?:次|回)(?!性)"


def chinese_number(text: str) -> int:
    """``"15"``, ``"十五"``, ``"两"``, ``"一百二十"``, ``"二〇"`` as an int (:class:`ValueError` for anything else)."""
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _DIGITS and ch not in _UNITS for ch in text):
        raise ValueError(f"not a number: {text!r}")
    if all(ch in _DIGITS for ch in text):  # 二〇二四: digit by digit
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total, digit = 0, None
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _UNITS[ch]  # 十五: the 十 alone is ten
            digit = None
    return total + (digit or 0)


@dataclass(frozen=True)
class Phrase:
    """A phrase found in a sentence, and the numbers of a rule it gives."""

    pattern: str  # the name of the row of PHRASES that found it
    text: str  # the words matched
    period: str | None = None  # year | half_year | quarter | month (None: a deadline after a trigger)
    at_least: int | None = None
    at_most: int | None = None
    window_to: str | None = None  # MM-DD: the deadline inside the year
    within_days: int | None = None
    assumed: str | None = None  # what the phrase leaves unsaid and the draft assumes (zh / en)


@dataclass(frozen=True)
class Unencodable:
    """A frequency or deadline phrase no rule can hold as it stands, and why."""

    pattern: str
    text: str
    reason: tuple[str, str]  # (zh, en)


Found = Phrase | Unencodable


@dataclass(frozen=True)
class Row:
    """One row of :data:`PHRASES`: a name, the pattern, and what a match means."""

    name: str
    pattern: re.Pattern[str]
    read: Callable[[re.Match[str]], Found]


def _period(m: re.Match[str]) -> str:
    return _PERIOD_WORDS[m["period"]]


def _at_least(m: re.Match[str]) -> Found:
    return Phrase("at_least", m[0], period=_period(m), at_least=chinese_number(m["n"]))


def _at_most(m: re.Match[str]) -> Found:
    return Phrase("at_most", m[0], period=_period(m), at_most=chinese_number(m["n"]))


def _every(m: re.Match[str]) -> Found:
    return Phrase(
        "every",
        m[0],
        period=_period(m),
        at_least=1,
        assumed="未写次数，按至少1次起草 / no count written: drafted as at least once",
    )


def _by_date(m: re.Match[str]) -> Found:
    month = chinese_number(m["month"])
    if m["day"]:
        day = chinese_number(m["day"])
    elif m["end"]:
        day = calendar.monthrange(2024, month)[1] if 1 <= month <= 12 else 0  # a leap year: 02-29 is allowed
    else:  # "每年3月前": before March, so by the end of February
        month -= 1
        day = calendar.monthrange(2024, month)[1] if 1 <= month <= 12 else 0
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(2024, month)[1]):
        return Unencodable("by_date", m[0], ("没有这一天", "no such day"))
    return Phrase("by_date", m[0], period="year", at_least=1, window_to=f"{month:02d}-{day:02d}")


def _within(m: re.Match[str]) -> Found:
    n = chinese_number(m["n"])
    unit = m["unit"]
    if unit in ("日", "天"):
        return Phrase("within", m[0], within_days=n)
    if unit in ("周", "星期"):
        return Phrase("within", m[0], within_days=7 * n)
    if unit == "工作日":
        return Unencodable(
            "within",
            m[0],
            ("时限按工作日计，规则只能按日历日计", "a deadline in working days: rules count calendar days"),
        )
    return Unencodable(
        "within",
        m[0],
        ("时限按月或年计，规则只能按日计", "a deadline in months or years: rules count days (within_days)"),
    )


def _every_n(m: re.Match[str]) -> Found:
    return Unencodable(
        "every_n",
        m[0],
        (
            "规则的周期只有年、半年、季度、月",
            "a rule's period is a year, half-year, quarter or month",
        ),
    )


def _day_in_period(m: re.Match[str]) -> Found:
    return Unencodable(
        "day_in_period",
        m[0],
        (
            "每月或每季度的截止日，规则的 window 只能写一年中的月-日",
            "a deadline day in each month or quarter: a rule's window holds month-days of the year",
        ),
    )


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


#: The phrases recognised, tried in this order on each sentence; the first to claim words keeps them.
PHRASES: tuple[Row, ...] = (
    # 每两年、每三年、每届（任期内）: periods no rule has
    Row("every_n", _rx(rf"每(?:(?![一1](?:个)?[年月季])(?:{NUM})(?:个)?(?:年|月|季度)|届)"), _every_n),
    # 每年1月31日前、每年3月底前、于每年一月底以前、每年3月前
    Row(
        "by_date",
        _rx(
            rf"每年(?:度)?[^，,。；;每]{{0,10}}?(?P<month>{NUM})月(?:份)?"
            rf"(?:(?P<day>{NUM})日|(?P<end>底|末))?(?:之前|以前|前)"
        ),
        _by_date,
    ),
    # 每月10日前、每季度第一个月15日前: a deadline day inside each month or quarter, which a window cannot hold
    Row(
        "day_in_period",
        _rx(rf"每(?:个)?(?:月|季度|季|半年)[^，,。；;每]{{0,8}}?{NUM}日(?:之前|以前|前)"),
        _day_in_period,
    ),
    # 每年不超过2次、每季度至多1次
    Row("at_most", _rx(rf"每{_PERIOD}{_GAP}{_MOST}\s*{_COUNT}"), _at_most),
    # 每半年至少专题研究一次、至少每季度召开1次、每年不少于1次、一般每月召开一次
    Row("at_least", _rx(rf"(?:{_LEAST})?每{_PERIOD}{_GAP}(?:{_LEAST}\s*)?{_COUNT}"), _at_least),
    # 应当在收到通知后15日内、30天内、两周内；5个工作日内、3个月内 (not encodable)
    Row("within", _rx(rf"(?P<n>{NUM})\s*(?:个)?(?P<unit>工作日|日|天|周|星期|月|年)(?:之)?内"), _within),
    # 至少每季度召开、每月召开支部委员会: a period with no count
    Row("every", _rx(rf"(?:{_LEAST})?每{_PERIOD}"), _every),
)


@dataclass(frozen=True)
class Sentence:
    """A sentence of the text: where it is (1-based line, article and chapter it stands under), and its words."""

    line: int
    text: str
    article: int | None
    chapter: int | None


_HEADING = re.compile(rf"^\s*第(?P<n>{NUM})(?P<unit>编|章|节)(?:\s|$)")
_ARTICLE = re.compile(rf"^\s*第(?P<n>{NUM})条\s*")
_STOPS = re.compile(r"[。！？；!?;]")
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def digits(text: str) -> str:
    """Full-width digits as ASCII ones, nothing else changed (so positions stay where they were)."""
    return text.translate(_FULL_WIDTH_DIGITS)


def sentences(text: str) -> list[Sentence]:
    """The sentences of a regulation's text, each under the last article and chapter heading above it. Heading
    lines (``第三章 责任落实``, ``第一节 …``) are structure, not sentences; an article's number is cut from its
    first sentence. Empty pieces are dropped; everything else is a sentence."""
    out: list[Sentence] = []
    article: int | None = None
    chapter: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        heading = _HEADING.match(digits(line))
        if heading:
            if heading["unit"] == "章":
                chapter, article = chinese_number(heading["n"]), None
            continue
        found = _ARTICLE.match(digits(line))
        if found:
            article = chinese_number(found["n"])
            line = line[found.end() :]
        for piece in _STOPS.split(line):
            piece = piece.strip(" \t\u3000，,：:")
            if piece:
                out.append(Sentence(number, piece, article, chapter))
    return out


def phrases(sentence: str) -> list[Found]:
    """The phrases of one sentence, in the order they stand. Each row of :data:`PHRASES` finds its matches in
    the words not yet claimed by an earlier row."""
    claimed: list[tuple[int, int]] = []
    found: list[tuple[int, Found]] = []
    words = digits(sentence)  # the same length: a span of `words` is the same span of `sentence`
    for row in PHRASES:
        for match in row.pattern.finditer(words):
            start, end = match.span()
            if any(start < b and a < end for a, b in claimed):
                continue
            claimed.append((start, end))
            found.append((start, dataclasses.replace(row.read(match), text=sentence[start:end])))
    return [item for _start, item in sorted(found, key=lambda pair: pair[0])]
