"""One error shape for every stage: a stable code, a message in Chinese and English, a location, a hint.

`str(problem)` prints ``file:line:col: code: message``. Stages collect problems; the API raises one
:class:`RulesError` holding the sorted list. Make a problem with :meth:`Problem.of`, which takes its texts
(and its fixed hint) from :mod:`rules_engine.texts` by its code. A rejected input row is a problem too
(:class:`rules_engine.load.inputs.BadRow`: ``location.path`` is its field, and it adds the offending value
and what could be salvaged of the row); its texts, like every reason's, live in :mod:`rules_engine.texts`.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from . import texts
from .texts import Arg


@dataclass(frozen=True, order=True)
class Location:
    """Where something came from: a file, 1-based line and column, and the path inside the document
    (for an input row: its field, or a YAML path such as ``people/0/posts``; the column is then 0)."""

    file: str = ""
    line: int = 0
    column: int = 0
    path: str = ""

    def __str__(self) -> str:
        if self.line:  # a row of a table or a JSON Lines file has a line and no column
            return f"{self.file}:{self.line}:{self.column}" if self.column else f"{self.file}:{self.line}"
        return self.file or "<input>"

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "column": self.column, "path": self.path}


@dataclass(frozen=True)
class Problem:
    """A located problem in a rule file or input: code, zh/en message, optional hint."""

    code: str
    message: str
    message_en: str
    location: Location = field(default_factory=Location)
    hint: str = ""

    @classmethod
    def of(cls, key: str, location: Location, hint: str | None = None, /, **values: Arg) -> Problem:
        """The problem `key` at `location`: `key` is its code (``yaml.tag``), or the code and the situation
        when one code is worded by situation (``pack.no_manifest#file``); its Chinese and English texts come
        from :data:`rules_engine.texts.TEXTS`, filled from `values` (a ``(zh, en)`` pair fills each language
        with its part). `hint`: one made from what was found (a "did you mean"); none (``None``): the key's
        fixed hint from :data:`rules_engine.texts.HINTS`, filled from the same values."""
        zh, en = texts.text(key, **values)
        return Problem(
            key.partition("#")[0], zh, en, location, texts.fixed_hint(key, **values) if hint is None else hint
        )

    def framed(
        self, frame: str, /, code: str | None = None, location: Location | None = None, **values: Arg
    ) -> Problem:
        """This problem with its messages put in `frame` (a ``frame.*`` text of :mod:`rules_engine.texts`,
        e.g. ``frame.rule`` names the rule), under another `code` or `location` if given."""
        zh, en = texts.text(frame, message=(self.message, self.message_en), **values)
        return dataclasses.replace(
            self, code=code or self.code, message=zh, message_en=en, location=location or self.location
        )

    def __str__(self) -> str:
        text = f"{self.location}: {self.code}: {self.message} ({self.message_en})"
        if self.hint:
            text += f" {self.hint}"
        return text

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.location.file, self.location.line, self.location.column, self.code)

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": {"zh": self.message, "en": self.message_en},
            "location": self.location.to_dict(),
            "hint": self.hint,
        }


_E = TypeVar("_E", bound="Coded")


class Coded(Exception):
    """An exception that may carry a stable code: made with :meth:`of`, its message is the Chinese and English
    text of the code in :mod:`rules_engine.texts` on one line (``str(error)``), and :attr:`code` names it."""

    #: The code of the text (``usage.param.syntax``), for a host to tell errors apart without reading them;
    #: ``None`` for an error made from a message of its own.
    code: str | None = None
    #: The values the text was filled from.
    values: dict[str, Arg] = {}  # noqa: RUF012 (replaced, never changed, by of())

    @classmethod
    def of(cls: type[_E], key: str, /, **values: Arg) -> _E:
        """The error `key` (a code, or ``code#situation``), its message the key's texts filled from `values`."""
        error = cls(texts.message(key, **values))
        error.code = key.partition("#")[0]
        error.values = values
        return error


class Error(Coded):
    """The base of every error the API raises on purpose: catch ``rules_engine.Error`` to tell bad input
    from a bug. The CLI prints these without a traceback and exits 2. Most are made with :meth:`Coded.of`
    and carry the :attr:`~Coded.code` of their text."""


class RulesError(Error):
    """Raised by the API when rule files (or other inputs that must be whole) are refused."""

    def __init__(self, problems: Iterable[Problem], refused: str = "rules") -> None:
        self.problems: list[Problem] = sorted(problems, key=Problem.sort_key)
        #: what was refused: ``rules`` (rule files), ``params`` (parameter overrides) or ``waivers`` (waiver files)
        self.refused = refused
        super().__init__("\n".join(str(p) for p in self.problems[:20]))


class MissingExtra(Error, ImportError):
    """An optional library is not installed; the message names the extra that installs it
    (e.g. ``pip install 'duty-rules-engine[parquet]'``)."""


class InputError(Error):
    """Input that cannot be read at all (missing file, unknown format) or an argument out of range. CLI exit 2."""


class PeriodError(InputError, ValueError):
    """A period label that cannot be parsed (also a ``ValueError``, as it was before)."""


class OutputError(InputError):
    """An output path that must not be written: it is one of the run's inputs, rule or waiver files."""


def did_you_mean(word: str, choices: Iterable[str], lang: str = "both") -> str:
    """A "did you mean" hint (``lang``: both, zh or en), or an empty string when nothing is close."""
    options = sorted(set(choices))
    # A choice the word merely extends comes last: the extra characters usually carry the meaning, and in
    # Chinese they are often a homophone typed for the right one ('付书记' for '副书记'); by ratio alone the
    # hint would be '书记' and point a deputy secretary at the secretary's duties.
    matches = difflib.get_close_matches(word, options, n=3, cutoff=0.6)
    close = sorted(matches, key=lambda c: c != word and c in word)[:1]
    if close:
        return {"zh": f"是否应为 '{close[0]}'？", "en": f"did you mean '{close[0]}'?"}.get(
            lang, f"是否应为 did you mean '{close[0]}'?"
        )
    if options and len(options) <= 12:
        return {"zh": "可选：", "en": "expected one of: "}.get(lang, "可选 expected one of: ") + ", ".join(options)
    return ""
