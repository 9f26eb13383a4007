"""Findings as JSON lines, built from columns: the streaming JSON writers' fast path.

:func:`rules_engine.findings.finding_dict` builds one finding at a time in Python (about 15 us each, most of a
large run's findings stage). Here a chunk of decided obligations becomes columns (one Python pass over the
objects for their fields; the organisations, periods, windows and rules they share as codes into small
tables), and each finding's JSON line is one string expression over those columns: the per-finding texts
(subject, window, message, reason) are concatenations of JSON-escaped pieces, which equal the escaped
concatenation because JSON escapes character by character. The parts of a rule that never vary are escaped
once per rule variant, and a message template once per template.

The lines are the bytes ``orjson.dumps(finding_dict(...))`` gives (v1) or its v2 layout (``finding_v2``).
Findings this path does not cover (escalations, waivers, taints, templates it cannot parse) are made by
:func:`finding_dict` in the same chunk, in place; a chunk whose columns cannot be built at all (text JSON
cannot carry) falls back whole. tests/test_finding_lines.py compares both paths.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from operator import attrgetter
from typing import Any

import orjson
import polars as pl

from .compile import CompiledRule, Decision
from .findings import _DEFAULT_MESSAGES, _expected_for, _reason_text, _static_raw, finding_dict
from .model.findings import Status
from .model.layout import finding_v2
from .model.roster import Organisation
from .periods import Period
from .plan import Obligation
from .render.csv import COLUMNS, dict_cells, set_by_text
from .tally import Tallied
from .texts import NA, UNK

CHUNK = 4096  # findings turned into columns at a time (bounds the memory of the columns)
_REASON_TEXTS = 8192  # rejected candidates' reason texts kept for reuse while writing (then made again)
SEPARATOR = ",\n    "  # between two findings in a JSON report (see rules_engine.render.json)

_NEEDS_ESCAPE = r'["\\\x00-\x1f]'
_FIELDS = attrgetter(
    "subject_kind", "subject_id", "subject_name", "role", "portfolio", "second", "second_name", "second_role", "trigger"
)
_NAMES = ("kind", "sid", "name", "role", "portfolio", "second", "second_name", "second_role", "trigger")
# placeholders a message may name, as the columns (zh, en) that hold their escaped text
_PLACEHOLDERS = {
    "rule_id": ("rule_id", "rule_id"),
    "subject": ("name", "name"),
    "organisation": ("org_name", "org_name"),
    "period": ("p_label", "p_label"),
    "window": ("window_text", "window_text"),
    "portfolio": ("portfolio_text", "portfolio_text"),
    "second": ("second_text", "second_text"),
    "clause": ("clause", "clause"),
    "who": ("who_zh", "who_en"),
    "title": ("title_zh", "title_en"),
    "expected": ("expected_zh", "expected_en"),
    "actual": ("actual_zh", "actual_en"),
}


def escaped(text: str) -> str:
    """`text` as it stands between the quotes of a JSON string written by orjson."""
    return orjson.dumps(text).decode()[1:-1]


def escaped_column(values: pl.Series) -> pl.Series:
    """A text column JSON-escaped (nulls stay null): only the few values that need it go through orjson."""
    bad = values.str.contains(_NEEDS_ESCAPE)
    if not bad.any():
        return values
    where = bad.fill_null(False).arg_true()
    fixed = pl.Series([escaped(v) for v in values.gather(where).to_list()], dtype=pl.String)
    return values.scatter(where, fixed)


_STATUS_ZH = {status.value: status.zh for status in Status}
_CELL_TYPES = {name: pl.Int64 if name == "次数 count" else pl.String for name in COLUMNS}


def _cells_frame(rows: list[list[str | int]]) -> pl.DataFrame:
    """Cells made in Python (:func:`rules_engine.render.csv.dict_cells`) as a frame of :data:`COLUMNS`."""
    return pl.DataFrame(rows, schema=_CELL_TYPES, orient="row")


def _q(expr: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit('"'), expr, pl.lit('"'))


def _q_or_null(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.is_null()).then(pl.lit("null")).otherwise(_q(expr))


def _truthy(name: str) -> pl.Expr:
    return pl.col(name).is_not_null() & (pl.col(name) != "")


def _org_json(org: Organisation) -> str:
    return orjson.dumps({"id": org.id, "name": org.name, "kind": org.kind.value}).decode()


class _Codes:
    """Distinct shared objects (by identity) numbered in order of first use."""

    def __init__(self) -> None:
        self.codes: dict[int, int] = {}
        self.items: list[Any] = []

    def of(self, item: object) -> int:
        code = self.codes.get(id(item))
        if code is None:
            code = self.codes[id(item)] = len(self.items)
            self.items.append(item)
        return code


class _Template:
    """A message template (zh, en) as expressions over the raw text columns, or None for one this path does not
    cover."""

    @staticmethod
    def parse(zh: str, en: str) -> tuple[pl.Expr, pl.Expr] | None:
        out = []
        for text, lang in ((zh, 0), (en, 1)):
            parts: list[pl.Expr] = []
            try:
                parsed = list(string.Formatter().parse(text))
            except ValueError:
                return None
            for literal, name, spec, conversion in parsed:
                if literal:
                    parts.append(pl.lit(literal))
                if name is None:
                    continue
                if spec or conversion or name not in _PLACEHOLDERS:
                    return None
                parts.append(pl.col(_PLACEHOLDERS[name][lang]))
            out.append(pl.concat_str(parts) if parts else pl.lit(""))
        return out[0], out[1]


class LineMaker:
    """Makes the JSON lines of decided obligations for one run: v1 (`keys` None) or v2 (`keys`: the v2 rules
    table key of each compiled rule, by ``id(rule)``)."""

    def __init__(self, keys: Mapping[int, str] | None = None, tallied: Tallied | None = None) -> None:
        self.keys = keys
        self.tallied = tallied  # the obligations' evidence and rejected candidates as columns (else on them)
        self._made: dict[str, pl.Series] = {}  # per organisation and per period: their texts, by code
        self._grown = {"org": 0, "period": 0}
        self.lists: JsonLists | None = None  # (while writing, when they are columns)
        self.rules = _Codes()
        self.orgs = _Codes()
        self.periods = _Codes()
        self.decisions = _Codes()
        self.templates: dict[tuple[str, str], int] = {}
        self.parsed: list[tuple[pl.Expr, pl.Expr] | None] = []
        self.static_reasons: dict[tuple[int, str, str, str], tuple[str, str]] = {}
        self.rejected_reasons: dict[tuple[int, tuple[str, ...], Period | None, str | None], bytes] = {}

    def blocks(
        self, decided: Callable[[], Iterable[tuple[Obligation, Decision]]], sep: str = SEPARATOR
    ) -> Iterator[bytes]:
        """The JSON lines of the decided obligations (in order), a chunk at a time: each block is its chunk's
        lines joined by `sep` (by default the findings list's separator, ``,\\n    ``; a worker's spool file
        takes a newline), as UTF-8 bytes. `decided` gives the pairs; it is called twice when the tally's lists
        are columns (first for the order of the findings)."""
        for chunk, start in self._chunks(decided):
            yield self._block(chunk, start, sep)

    def cells(self, decided: Callable[[], Iterable[tuple[Obligation, Decision]]]) -> Iterator[pl.DataFrame]:
        """The CSV and Parquet cells of the decided obligations (in order; columns
        :data:`rules_engine.render.csv.COLUMNS`, as they are: not neutralised for spreadsheets), a chunk at a
        time: the cells :func:`rules_engine.render.csv.finding_cells` gives for each finding's model."""
        for chunk, start in self._chunks(decided):
            try:
                yield self._cell_frame(chunk, start)
            except (pl.exceptions.PolarsError, UnicodeError):  # (as for the lines: see _block)
                if self.tallied is not None:
                    self.tallied.fill()
                self.lists = None
                yield _cells_frame([dict_cells(finding_dict(ob, d.status, d.waives)) for ob, d in chunk])

    def _chunks(
        self, decided: Callable[[], Iterable[tuple[Obligation, Decision]]]
    ) -> Iterator[tuple[list[tuple[Obligation, Decision]], int]]:
        if self.tallied is not None and not self.tallied.filled:
            rows = pl.Series([ob.row if ob.row >= 0 else None for ob, _ in decided()], dtype=pl.Int64)
            self.lists = JsonLists(self.tallied, escaped_column(self.tallied.ids), rows)
        chunk: list[tuple[Obligation, Decision]] = []
        start = 0
        for item in decided():
            chunk.append(item)
            if len(chunk) >= CHUNK:
                yield chunk, start
                start += len(chunk)
                chunk = []
        if chunk:
            yield chunk, start

    def _block(self, chunk: Sequence[tuple[Obligation, Decision]], start: int, sep: str) -> bytes:
        try:
            lines = self._columnar(chunk, start)
        except (pl.exceptions.PolarsError, UnicodeError):  # text polars cannot hold (a lone surrogate)
            # (not TypeError: a mistake in the code above must fail the run, not slow it down unseen)
            if self.tallied is not None:
                self.tallied.fill()
            self.lists = None
            return sep.join(self._python(ob, d) for ob, d in chunk).encode()
        block = lines.str.join(sep).cast(pl.Binary).item()
        assert isinstance(block, bytes)
        return block

    def _python(self, ob: Obligation, d: Decision, evidence: str = "[]", rejected: str = "[]") -> str:
        """The line of one finding made by :func:`finding_dict`; the lists given when they are columns."""
        found = finding_dict(ob, d.status, d.waives, raw=True)
        if self.lists is not None and ob.row >= 0:
            found["evidence"], found["rejected"] = orjson.Fragment(evidence), orjson.Fragment(rejected)
        if self.keys is not None:
            found = finding_v2(self.keys[id(ob.rule)], found)
        return orjson.dumps(found).decode()

    def _python_rows(
        self, chunk: Sequence[tuple[Obligation, Decision]], where: list[int], evidence: pl.Series, rejected: pl.Series
    ) -> list[str]:
        index = pl.Series(where, dtype=pl.Int64)
        lists = zip(evidence.gather(index).to_list(), rejected.gather(index).to_list(), strict=True)
        return [self._python(*chunk[i], *pair) for i, pair in zip(where, lists, strict=True)]

    def _lists(self, obs: list[Obligation], start: int, rejected: bool = True) -> tuple[pl.Series, pl.Series]:
        """The chunk's evidence and rejected lists as JSON: from the tally's columns, or from the obligations
        (without `rejected`: the evidence only, the rejected lists empty)."""
        if self.lists is not None:
            return self.lists.chunk(start, start + len(obs), rejected)
        evidence = pl.Series(
            [orjson.dumps(ob.evidence).decode() if ob.evidence else "[]" for ob in obs], dtype=pl.String
        )
        if not rejected:
            return evidence, pl.Series(["[]"] * len(obs), dtype=pl.String)
        return evidence, pl.Series([self._rejected(ob) for ob in obs], dtype=pl.String)

    # -- the columns -----------------------------------------------------------------------------------

    def _columnar(self, chunk: Sequence[tuple[Obligation, Decision]], start: int) -> pl.Series:
        evidence, rejected = self._lists([ob for ob, _ in chunk], start)
        fallback: list[str | None] = [None] * len(chunk)
        where = [i for i, (ob, d) in enumerate(chunk) if self._needs_python(ob, d)]
        if where:
            for i, line in zip(where, self._python_rows(chunk, where, evidence, rejected), strict=True):
                fallback[i] = line
        frame = self._frame(chunk, evidence, rejected).with_columns(pl.Series("fallback", fallback, dtype=pl.String))
        lines = self._render(frame)
        missing = lines.is_null().arg_true()
        if missing.len():  # a template this path cannot parse: those findings from Python
            made = self._python_rows(chunk, missing.to_list(), evidence, rejected)
            lines = lines.scatter(missing, pl.Series(made, dtype=pl.String))
        return lines

    def _cell_frame(self, chunk: Sequence[tuple[Obligation, Decision]], start: int) -> pl.DataFrame:
        evidence, _ = self._lists([ob for ob, _ in chunk], start, rejected=False)
        frame = self._frame(chunk, evidence, evidence)
        cells = frame.select(
            pl.col("rule_id"),
            pl.col("status").replace_strict(_STATUS_ZH, return_dtype=pl.String).alias("status_zh"),
            pl.col("status"),
            pl.col("org_id"),
            pl.col("org_name"),
            pl.col("sid"),
            pl.when(pl.col("kind") == "record")
            .then(
                pl.concat_str(
                    pl.lit("记录 record "),
                    pl.when(_truthy("trigger")).then(pl.col("trigger")).otherwise(pl.col("sid")),
                )
            )
            .otherwise(
                pl.concat_str(
                    pl.col("name"),
                    pl.when(_truthy("portfolio"))
                    .then(pl.concat_str(pl.lit("（"), pl.col("portfolio"), pl.lit("）")))
                    .otherwise(pl.lit("")),
                    pl.when(_truthy("second"))
                    .then(
                        pl.concat_str(
                            pl.lit("、"),
                            pl.when(_truthy("second_name")).then(pl.col("second_name")).otherwise(pl.col("second")),
                        )
                    )
                    .otherwise(pl.lit("")),
                )
            )
            .alias("subject"),
            pl.col("p_label"),
            pl.col("window_range"),
            pl.col("expected_zh"),
            pl.col("actual_zh"),
            pl.col("count"),
            pl.col("evidence").str.json_decode(pl.List(pl.String)).list.join("、").alias("evidence"),
            pl.col("severity"),
            pl.col("message_zh"),
            pl.col("message_en"),
            pl.col("reason_zh"),
            pl.lit("").alias("waiver"),
            pl.col("set_by"),
        )
        cells.columns = list(COLUMNS)
        where = {i for i, (ob, d) in enumerate(chunk) if self._needs_python(ob, d)}
        where.update(frame.get_column("message_zh").is_null().arg_true().to_list())
        if not where:
            return cells
        # findings this path does not cover: their cells from the finding made in Python, put in their place
        rows = sorted(where)
        lists = evidence.gather(pl.Series(rows, dtype=pl.Int64)).to_list()
        made = []
        for i, listed in zip(rows, lists, strict=True):
            ob, d = chunk[i]
            found = finding_dict(ob, d.status, d.waives)
            if self.lists is not None and ob.row >= 0:
                found["evidence"] = orjson.loads(listed)
            made.append(dict_cells(found))
        order = "\x00row"
        keep = cells.with_row_index(order).filter(~pl.col(order).is_in(rows))
        python = _cells_frame(made).with_columns(pl.Series(order, rows, dtype=pl.UInt32)).select(keep.columns)
        return pl.concat([keep, python]).sort(order).drop(order)

    def _frame(
        self, chunk: Sequence[tuple[Obligation, Decision]], evidence: pl.Series, rejected: pl.Series
    ) -> pl.DataFrame:
        """The chunk as columns, with every text a finding shows (as it reads, not escaped)."""
        obs = [ob for ob, _ in chunk]
        rule_of, org_of, period_of, decision_of = self.rules.of, self.orgs.of, self.periods.of, self.decisions.of
        rules = [rule_of(ob.rule) for ob in obs]
        decisions = [decision_of(d) for _, d in chunk]
        static_reason = [self._static_reason(ob, d.status) for ob, d in chunk]
        static_zh, static_en = (
            [r[0] if r else None for r in static_reason],
            [r[1] if r else None for r in static_reason],
        )
        columns: dict[str, Any] = dict(zip(_NAMES, zip(*map(_FIELDS, obs), strict=True), strict=True))
        frame = pl.DataFrame(
            {
                **{name: pl.Series(name, values, dtype=pl.String) for name, values in columns.items()},
                "rule": pl.Series(rules, dtype=pl.UInt32),
                "decision": pl.Series(decisions, dtype=pl.UInt32),
                "org": pl.Series([org_of(ob.org) for ob in obs], dtype=pl.UInt32),
                "period": pl.Series([period_of(ob.period) for ob in obs], dtype=pl.UInt32),
                "window": pl.Series([period_of(ob.window or ob.period) for ob in obs], dtype=pl.UInt32),
                "judged": pl.Series([period_of(ob.window) if ob.window else None for ob in obs], dtype=pl.UInt32),
                "count": pl.Series([ob.count for ob in obs], dtype=pl.Int64),
                "evidence": evidence,
                "rejected": rejected,
                "static_zh": pl.Series(static_zh, dtype=pl.String),
                "static_en": pl.Series(static_en, dtype=pl.String),
            }
        )
        return self._texts(self._shared(frame))

    def _needs_python(self, ob: Obligation, d: Decision) -> bool:
        status = d.status
        if ob.rule.rule.escalate is not None or ob.waiver is not None or status is Status.waived:
            return True
        if status is Status.not_applicable or ob.unk:
            return False
        return status is Status.undeterminable or ob.window is None  # taints: their rows' texts

    def _static_reason(self, ob: Obligation, status: Status) -> tuple[str, str] | None:
        """The reason of a finding whose reason does not depend on its count (not applicable, unknown)."""
        if status is not Status.not_applicable and not ob.unk:
            return None
        key = (id(ob.rule), status.value, ob.na, ob.unk)
        found = self.static_reasons.get(key)
        if found is None:
            if status is Status.not_applicable:
                zh, en = NA.get(ob.na or "not_in_force", ("不适用", "not applicable"))
                if ob.na == "retired":
                    zh, en = f"{zh}（{ob.rule.retired_by}）", f"{en} ({ob.rule.retired_by})"
            else:
                zh, en = UNK[ob.unk]
            found = self.static_reasons[key] = (zh, en)
        return found

    def _rejected(self, ob: Obligation) -> str:
        if ob.rejected is None:
            return "[]"
        reasons = self.rejected_reasons
        rule = ob.rule
        parts = []
        for record, why in ob.rejections():
            code = why[0]
            window = ob.window if code == "outside" else None
            portfolio = ob.portfolio if code == "portfolio" else None
            key = (id(rule), why, window, portfolio)
            reason = reasons.get(key)
            if reason is None:
                reason = reasons[key] = orjson.dumps(_reason_text(rule, why, window, portfolio))
            parts.append(b'{"record":' + orjson.dumps(record) + b',"reason":' + reason + b"}")
        return (b"[" + b",".join(parts) + b"]").decode()

    def _shared(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The columns that come from the rules, organisations, periods and decisions the chunk shares."""
        rule_codes, org_codes = frame.get_column("rule"), frame.get_column("org")
        rules: list[CompiledRule] = self.rules.items
        per_rule: dict[str, list[Any]] = {name: [] for name in ("prefix", "mid", "sev", "tail")}
        texts: dict[str, list[Any]] = {
            name: []
            for name in (
                "rule_id",
                "clause",
                "title_zh",
                "title_en",
                "expected_zh",
                "expected_en",
                "severity",
                "set_by",
            )
        }
        at_least = []
        for rule in rules:
            static = _static_raw(rule)
            expected = _expected_for(rule, "")
            if self.keys is None:
                head = {
                    "rule_id": rule.rule.id,
                    "rule_title": static["rule_title"],
                    "pack": rule.loaded.pack.id,
                    "pack_version": rule.loaded.pack.version,
                }
                per_rule["prefix"].append(orjson.dumps(head).decode()[:-1])
                mid = orjson.dumps({"clause": static["clause"], "expected": expected}).decode()
                per_rule["mid"].append("," + mid[1:-1])
                per_rule["sev"].append("," + orjson.dumps({"severity": static["severity"]}).decode()[1:-1])
                per_rule["tail"].append("," + orjson.dumps({"params": static["params"]}).decode()[1:-1])
            else:
                per_rule["prefix"].append(orjson.dumps({"rule": self.keys[id(rule)]}).decode()[:-1])
                for name in ("mid", "sev", "tail"):
                    per_rule[name].append("")
            spec = rule.rule
            texts["rule_id"].append(spec.id)
            texts["clause"].append(spec.citation.label())
            texts["title_zh"].append(spec.title.zh)
            texts["title_en"].append(spec.title.en)
            texts["expected_zh"].append(expected["zh"])
            texts["expected_en"].append(expected["en"])
            texts["severity"].append(spec.severity.value)
            texts["set_by"].append(set_by_text(rule.params_dump()))
            at_least.append(rule.at_least)
        orgs: list[Organisation] = self.orgs.items[self._grown["org"] :]  # only those new in this chunk
        self._grow("org_json", [_org_json(o) for o in orgs])
        self._grow("org_name", [o.name for o in orgs])
        self._grow("org_id", [o.id for o in orgs])
        self._grown["org"] += len(orgs)
        periods: list[Period] = self.periods.items[self._grown["period"] :]
        self._grow("p_json", [orjson.dumps(p.to_dict()).decode() for p in periods])
        self._grow("p_label", [p.label for p in periods])
        self._grow("p_days", [p.days for p in periods], pl.Int64)
        self._grow("p_range", [f"{p.start.isoformat()}..{p.end.isoformat()}" for p in periods])
        self._grow("p_end", [p.end.isoformat() for p in periods])
        self._grown["period"] += len(periods)
        made = self._made
        org_json, org_name, org_id = made["org_json"], made["org_name"], made["org_id"]
        p_json, p_label, p_days, p_range, p_end = (made[k] for k in ("p_json", "p_label", "p_days", "p_range", "p_end"))
        statuses = pl.Series([d.status.value for d in self.decisions.items], dtype=pl.String)
        window, period = frame.get_column("window"), frame.get_column("period")
        judged = frame.get_column("judged")
        window_text = (
            pl.DataFrame({"same": p_days.gather(window) == p_days.gather(period)})
            .select(
                pl.when(pl.col("same"))
                .then(pl.lit(p_label.gather(window)))
                .otherwise(pl.lit(p_range.gather(window)))
                .alias("window_text")
            )
            .get_column("window_text")
        )
        return frame.with_columns(
            *(pl.Series(name, values, dtype=pl.String).gather(rule_codes) for name, values in per_rule.items()),
            *(pl.Series(name, values, dtype=pl.String).gather(rule_codes) for name, values in texts.items()),
            pl.Series("at_least", at_least, dtype=pl.Int64).gather(rule_codes),
            org_json.gather(org_codes).alias("org_json"),
            org_name.gather(org_codes).alias("org_name"),
            org_id.gather(org_codes).alias("org_id"),
            p_json.gather(period).alias("p_json"),
            p_label.gather(period).alias("p_label"),
            p_json.gather(window).alias("w_json"),
            window_text,
            p_range.gather(window).alias("window_range"),
            p_range.gather(judged).alias("w_range"),
            p_end.gather(judged).alias("w_end"),
            statuses.gather(frame.get_column("decision")).alias("status"),
        )

    def _grow(self, name: str, values: list[Any], dtype: Any = pl.String) -> None:
        """Add the values of the organisations or periods first seen in this chunk to their column."""
        new = pl.Series(name, values, dtype=dtype)
        found = self._made.get(name)
        self._made[name] = new if found is None else found.extend(new)

    # -- the lines ---------------------------------------------------------------------------------------

    def _texts(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The per-finding texts, as they read (not escaped): who, actual, message and reason in both languages."""
        count = pl.col("count").cast(pl.String)
        org, name, portfolio = pl.col("org_name"), pl.col("name"), pl.col("portfolio")
        who_zh = (
            pl.when(pl.col("kind") == "organisation")
            .then(org)
            .when(pl.col("kind") == "record")
            .then(pl.concat_str(org, pl.lit("（记录 "), pl.col("sid"), pl.lit("）")))
            .when(_truthy("second_name"))
            .then(pl.concat_str(org, name, pl.lit("与"), pl.col("second_name")))
            .when(_truthy("portfolio"))
            .then(pl.concat_str(org, name, pl.lit("（分管"), portfolio, pl.lit("）")))
            .otherwise(pl.concat_str(org, name))
        )
        who_en = (
            pl.when(pl.col("kind") == "organisation")
            .then(org)
            .when(pl.col("kind") == "record")
            .then(pl.concat_str(org, pl.lit(" (record "), pl.col("sid"), pl.lit(")")))
            .when(_truthy("second_name"))
            .then(pl.concat_str(name, pl.lit(" of "), org, pl.lit(" with "), pl.col("second_name")))
            .when(_truthy("portfolio"))
            .then(pl.concat_str(name, pl.lit(" of "), org, pl.lit(" (portfolio "), portfolio, pl.lit(")")))
            .otherwise(pl.concat_str(name, pl.lit(" of "), org))
        )
        short = (pl.col("status") == "violated") & (pl.col("count") > 0) & (pl.col("count") < pl.col("at_least"))
        frame = frame.with_columns(
            who_zh.alias("who_zh"),
            who_en.alias("who_en"),
            pl.concat_str(count, pl.lit("次")).alias("actual_zh"),
            count.alias("actual_en"),
            portfolio.fill_null("").alias("portfolio_text"),
            pl.col("second_name").fill_null("").alias("second_text"),
            short.alias("short"),
        )
        message_zh, message_en = self._messages(frame)
        found_zh = pl.concat_str(
            pl.lit("在 "), pl.col("w_range"), pl.lit(" 内找到 "), count, pl.lit(" 条符合条件的记录")
        )
        found_en = pl.concat_str(pl.lit("found "), count, pl.lit(" matching record(s) in "), pl.col("w_range"))
        status = pl.col("status")
        reason_zh = (
            pl.when(status == "pending")
            .then(pl.concat_str(found_zh, pl.lit("；时限 "), pl.col("w_end"), pl.lit(" 未到")))
            .when(status == "violated")
            .then(pl.concat_str(found_zh, pl.lit("，要求"), pl.col("expected_zh")))
            .when(status == "fulfilled")
            .then(pl.concat_str(found_zh, pl.lit("，满足"), pl.col("expected_zh")))
        )
        reason_en = (
            pl.when(status == "pending")
            .then(pl.concat_str(found_en, pl.lit("; the window ends "), pl.col("w_end")))
            .when(status == "violated")
            .then(pl.concat_str(found_en, pl.lit("; required "), pl.col("expected_en")))
            .when(status == "fulfilled")
            .then(pl.concat_str(found_en, pl.lit("; meets "), pl.col("expected_en")))
        )
        return frame.with_columns(
            message_zh,
            message_en,
            pl.coalesce(pl.col("static_zh"), reason_zh).alias("reason_zh"),
            pl.coalesce(pl.col("static_en"), reason_en).alias("reason_en"),
        )

    def _render(self, frame: pl.DataFrame) -> pl.Series:
        """Each finding's JSON line from its columns (texts escaped here: JSON escapes character by character, so
        escaping a text equals joining its escaped pieces)."""
        frame = frame.with_columns(
            escaped_column(frame.get_column(name)).alias(f"j_{name}")
            for name in (*_NAMES, "message_zh", "message_en", "reason_zh", "reason_en")
        )
        name, portfolio = pl.col("j_name"), pl.col("j_portfolio")
        second = (
            pl.when(_truthy("second"))
            .then(
                pl.concat_str(
                    pl.lit('{"id":'),
                    _q(pl.col("j_second")),
                    pl.lit(',"name":'),
                    _q(pl.when(_truthy("second_name")).then(pl.col("j_second_name")).otherwise(pl.col("j_second"))),
                    pl.lit(',"role":'),
                    _q_or_null(pl.col("j_second_role")),
                    pl.lit("}"),
                )
            )
            .otherwise(pl.lit("null"))
        )
        subject = pl.concat_str(
            pl.lit('{"kind":'),
            _q(pl.col("j_kind")),
            pl.lit(',"id":'),
            _q(pl.col("j_sid")),
            pl.lit(',"name":'),
            _q(name),
            pl.lit(',"role":'),
            _q_or_null(pl.col("j_role")),
            pl.lit(',"portfolio":'),
            _q_or_null(portfolio),
            pl.lit(',"second":'),
            second,
            pl.lit(',"record":'),
            _q_or_null(pl.col("j_trigger")),
            pl.lit("}"),
        )
        line = pl.concat_str(
            pl.col("prefix"),
            pl.lit(',"status":'),
            _q(pl.col("status")),
            pl.lit(',"subject":'),
            subject,
            pl.lit(',"organisation":'),
            pl.col("org_json"),
            pl.lit(',"period":'),
            pl.col("p_json"),
            pl.lit(',"window":'),
            pl.col("w_json"),
            pl.col("mid"),
            pl.lit(',"actual":{"zh":"'),
            pl.col("actual_zh"),
            pl.lit('","en":"'),
            pl.col("actual_en"),
            pl.lit('"},"count":'),
            pl.col("count").cast(pl.String),
            pl.lit(',"evidence":'),
            pl.col("evidence"),
            pl.lit(',"rejected":'),
            pl.col("rejected"),
            pl.col("sev"),
            pl.lit(',"message":{"zh":"'),
            pl.col("j_message_zh"),
            pl.lit('","en":"'),
            pl.col("j_message_en"),
            pl.lit('"},"reason":{"zh":"'),
            pl.col("j_reason_zh"),
            pl.lit('","en":"'),
            pl.col("j_reason_en"),
            pl.lit('"}'),
            pl.col("tail"),
            pl.lit(',"waiver":null}'),
        )
        return frame.select(pl.coalesce(pl.col("fallback"), line)).to_series()

    def _messages(self, frame: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
        """Each finding's message (zh, en), made per template (the rule's own text for its status, or the default);
        null where the template is one this path does not cover."""
        rules: list[CompiledRule] = self.rules.items
        statuses = [d.status for d in self.decisions.items]
        keys = frame.select("rule", "decision", "short").unique()
        lookup = []
        for rule_code, decision_code, is_short in keys.iter_rows():
            status = statuses[decision_code]
            spec = rules[rule_code].rule
            kind = "short" if is_short and spec.escalate is None else status.value
            custom = getattr(spec.messages, kind) if kind in ("violated", "short", "fulfilled", "pending") else None
            zh, en = (custom.zh, custom.en) if custom else _DEFAULT_MESSAGES[status]
            template = self.templates.get((zh, en))
            if template is None:
                template = self.templates[(zh, en)] = len(self.parsed)
                self.parsed.append(_Template.parse(zh, en))
            lookup.append((rule_code, decision_code, is_short, template))
        table = pl.DataFrame(
            lookup,
            schema={"rule": pl.UInt32, "decision": pl.UInt32, "short": pl.Boolean, "template": pl.UInt32},
            orient="row",
        )
        indexed = frame.with_row_index("i").join(table, on=["rule", "decision", "short"], how="left")
        message_zh = pl.Series("message_zh", [None] * frame.height, dtype=pl.String)
        message_en = pl.Series("message_en", [None] * frame.height, dtype=pl.String)
        for (template,), part in indexed.partition_by("template", as_dict=True).items():
            parsed = self.parsed[int(template)]
            if parsed is None:
                continue  # (such findings' lines come from Python: see _needs_python)
            zh, en = parsed
            made = part.select(zh.alias("zh"), en.alias("en"))
            where = part.get_column("i")
            message_zh = message_zh.scatter(where, made.get_column("zh"))
            message_en = message_en.scatter(where, made.get_column("en"))
        return message_zh, message_en


class JsonLists:
    """The ``evidence`` and ``rejected`` lists of the tallied obligations (:class:`rules_engine.tally.Tallied`) as
    the compact JSON a finding holds, for findings written in the order of `rows` (the tally number of each
    finding's obligation, null for one not tallied), a chunk at a time (:meth:`chunk`): the lists are held as
    rows and reason numbers, made into text (and their reasons' texts made, the last few thousand kept for
    reuse) only for the chunk being written. `ids`: the record ids, JSON-escaped."""

    def __init__(self, tallied: Tallied, ids: pl.Series, rows: pl.Series) -> None:
        self.tallied, self.ids, self.rows = tallied, ids, rows.cast(pl.UInt32)
        self.texts: dict[tuple[Any, ...], int] = {}  # a reason (rule, why, window, area) -> its number in `made`
        self.made: list[str] = []  # the reasons' texts as JSON
        self.column = pl.Series(dtype=pl.String)  # the same, as a column

    def chunk(self, start: int, end: int, with_rejected: bool = True) -> tuple[pl.Series, pl.Series]:
        """The lists of the findings at positions `start` to `end` (exclusive), ``[]`` for none (the rejected
        lists all ``[]`` without `with_rejected`)."""
        n = end - start
        obs = self.rows.slice(start, n)
        evidence = pl.Series("evidence", ["[]"] * n, dtype=pl.String)
        part = self._of(self.tallied.evidence, obs)
        if part is not None:
            part = part.with_columns(id=self.ids.gather(part.get_column("row")))
            joined = part.group_by("pos", maintain_order=True).agg(pl.col("id").str.join('","'))
            made = joined.select(pl.concat_str(pl.lit('["'), pl.col("id"), pl.lit('"]'))).to_series()
            evidence = evidence.scatter(joined.get_column("pos"), made)
        rejected = pl.Series("rejected", ["[]"] * n, dtype=pl.String)
        part = self._of(self.tallied.rejected, obs) if with_rejected else None
        if part is not None:
            part = part.with_columns(id=self.ids.gather(part.get_column("row")), text=self._reasons(part, obs))
            item = pl.concat_str(
                pl.lit('{"record":"'), pl.col("id"), pl.lit('","reason":'), pl.col("text"), pl.lit("}")
            )
            joined = part.group_by("pos", maintain_order=True).agg(item.str.join(",").alias("items"))
            made = joined.select(pl.concat_str(pl.lit("["), pl.col("items"), pl.lit("]"))).to_series()
            rejected = rejected.scatter(joined.get_column("pos"), made)
        return evidence, rejected

    @staticmethod
    def _of(frame: pl.DataFrame | None, obs: pl.Series) -> pl.DataFrame | None:
        """The rows of `frame` (sorted by ``ob``) of the obligations `obs` (null: none), each with ``pos``, the
        position of its obligation in `obs`: in the order of the positions, then of `frame`."""
        if frame is None or frame.height == 0:
            return None
        numbers = frame.get_column("ob")
        wanted = obs.fill_null(0)
        spans = pl.DataFrame(
            {
                "pos": pl.int_range(0, obs.len(), dtype=pl.UInt32, eager=True),
                "lo": numbers.search_sorted(wanted, "left"),
                "hi": numbers.search_sorted(wanted, "right"),
                "tallied": obs.is_not_null(),
            }
        ).filter(pl.col("tallied") & (pl.col("hi") > pl.col("lo")))
        if spans.height == 0:
            return None
        at = spans.select("pos", at=pl.int_ranges("lo", "hi", dtype=pl.Int64)).explode("at")
        return frame.drop("ob")[at.get_column("at")].with_columns(at.get_column("pos"))

    def _reasons(self, part: pl.DataFrame, obs: pl.Series) -> pl.Series:
        """The JSON text of each rejected candidate's reason (`part`, the chunk's, with ``pos`` and ``why``): the
        same why under the same rule reads the same, but for the judged window (an ``outside`` why) and the
        portfolio area (a ``portfolio`` why). The last few thousand texts are kept for reuse."""
        tallied = self.tallied
        if len(self.made) > _REASON_TEXTS:  # most are one person's window: kept for a while, not the whole run
            self.texts, self.made, self.column = {}, [], pl.Series(dtype=pl.String)
        numbers = obs.gather(part.get_column("pos"))
        distinct = numbers.unique().sort()
        width = len(tallied.whys)
        # (obligation, why) as one number: its obligation's place in `distinct`, then the why
        keys = distinct.search_sorted(numbers).cast(pl.UInt64) * width + part.get_column("why").cast(pl.UInt64)
        pairs = keys.unique().sort()
        texts, made, whys = self.texts, self.made, tallied.whys
        judged = [tallied.obs[i] for i in distinct.to_list()]  # (a chunk's: few)
        found, new = [], len(made)
        for key in pairs.to_list():
            ob, why = judged[key // width], whys[key % width]
            window = ob.window if why[0] == "outside" else None
            area = ob.portfolio if why[0] == "portfolio" else None
            span = (window.start, window.end) if window is not None else None
            cached = (ob.rule.index, key % width, span, area)
            text = texts.get(cached)
            if text is None:
                reason = _reason_text(ob.rule, why, Period(*span) if span is not None else None, area)
                text = texts[cached] = len(made)
                made.append(orjson.dumps(reason).decode())
            found.append(text)
        if len(made) > new:  # (the texts as a column, extended by the new ones)
            self.column = self.column.extend(pl.Series(made[new:], dtype=pl.String))
        chosen = pl.Series(found, dtype=pl.UInt32).gather(pairs.search_sorted(keys))
        return self.column.gather(chosen)
