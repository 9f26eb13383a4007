"""Findings as JSON lines, built from columns: the streaming JSON writers' fast path.

:func:`rules_engine.findings.finding_dict` builds one finding at a time in Python (about 15 us each). Here the
decided rows of a run's ledger (:class:`rules_engine.ledger.Ledger`), a chunk at a time, are read as columns (the
rules, decisions, organisations and periods they share are codes into the ledger's lists), and each finding's
JSON line is one string expression over those columns.

Most of a finding's text depends only on its *shape*: its rule, decision (status), period, window, count and
count-free reason (not applicable, unknown). The reason, the actual count, the periods' JSON, the rule's parts
and the message template's text between the subject's placeholders are made once per shape (a few thousand in a
run of 150,000 findings), JSON-escaped once, and gathered for each finding by its shape's number (a dense rank of
the shape's codes). The per-finding text left is the subject's (its names, ids, area, the organisation's name,
escaped once per organisation): a message is its shape's slots filled with those texts. JSON escapes character by
character, so joining escaped pieces equals escaping the joined text; no regular expression scans the long texts.

The lines are the bytes ``orjson.dumps(finding_dict(...))`` gives (v1) or its v2 layout (``finding_v2``); the
CSV and Parquet cells (:meth:`LineMaker.ledger_cells`) are the same shapes' texts as they read. An escalation's
reason is its shape's too (its rule, status and count), and its evidence (the labels of the lower findings it read)
a column of the ledger. Findings this path does not cover (waivers, taints, templates it cannot parse) are made into
objects and by :func:`finding_dict` in the same chunk, in place; a chunk whose columns cannot be built at all (text
JSON cannot carry) falls back whole. tests/test_finding_lines.py compares the lines and cells with those made in
Python.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson
import polars as pl

from .compile import CompiledRule, Decision
from .findings import _DEFAULT_MESSAGES, _expected_for, _reason_text, _static_raw, escalation_reason, finding_dict
from .jsontext import NEEDS_ESCAPE, escaped, escaped_column
from .ledger import Ledger
from .model.findings import Status
from .model.layout import finding_v2
from .model.roster import Organisation
from .periods import Period
from .plan import Obligation
from .render.csv import COLUMNS, dict_cells, set_by_text
from .tally import Tallied
from .texts import NA, REASON_SEP, UNK, reason_text

CHUNK = 4096  # findings turned into columns at a time (bounds the memory of the columns)
_EVIDENCE_ROWS = 1 << 20  # evidence rows whose ids are gathered at a time (see JsonLists)
_SEGMENT = 1 << 16  # findings whose evidence lists are made at a time (see JsonLists)
_REASON_TEXTS = 8192  # rejected candidates' reason texts kept for reuse while writing (then made again)
SEPARATOR = ",\n    "  # between two findings in a JSON report (see rules_engine.render.json)

_NAMES = ("kind", "sid", "name", "role", "portfolio", "second", "second_name", "second_role", "trigger")
# a message's placeholders that name the subject: their number among the texts stacked per chunk (0: empty)
_VARS = {"who": 1, "subject": 2, "organisation": 3, "portfolio": 4, "second": 5}
# the others: the same for every finding of a shape (see _Shape)
_SHAPE_PLACEHOLDERS = ("rule_id", "period", "window", "clause", "title", "expected", "actual")
_SHAPE_KEYS = ("rule", "decision", "period", "window", "judged", "count", "static")
_NONE = 2**32 - 1  # no judged window, no count-free reason (in a shape key)
# a shape's texts in the CSV and Parquet cells
_CELL_TEXTS = (
    "rule_id",
    "status_zh",
    "status",
    "p_label",
    "window_range",
    "expected_zh",
    "actual_zh",
    "severity",
    "reason_zh",
    "set_by",
)


_STATUS_ZH = {status.value: status.zh for status in Status}
_CELL_TYPES = {name: pl.Int64 if name == "次数 count" else pl.String for name in COLUMNS}


def _cells_frame(rows: list[list[str | int]]) -> pl.DataFrame:
    """Cells made in Python (:func:`rules_engine.render.csv.dict_cells`) as a frame of :data:`COLUMNS`."""
    return pl.DataFrame(rows, schema=_CELL_TYPES, orient="row")


def _q(expr: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit('"'), expr, pl.lit('"'))


def _q_or_null(expr: pl.Expr) -> pl.Expr:
    return _q(expr).fill_null("null")  # (concat_str is null where expr is)


def _truthy(name: str) -> pl.Expr:
    return pl.col(name).is_not_null() & (pl.col(name) != "")


def _org_json(org: Organisation) -> str:
    return orjson.dumps({"id": org.id, "name": org.name, "kind": org.kind}).decode()


class _Rows:
    """A chunk of a ledger's decided rows (in report order), as columns: objects are made only for the rows a
    finding is made of in Python (:meth:`make`), or for all of them when something iterates over the chunk."""

    def __init__(self, ledger: Ledger, table: pl.DataFrame) -> None:
        self.ledger, self.table = ledger, table
        self._made: dict[int, tuple[Obligation, Decision]] = {}

    def __len__(self) -> int:
        return self.table.height

    def make(self, where: Iterable[int]) -> None:
        """Make the objects of the rows at positions `where`, at once."""
        wanted = [i for i in where if i not in self._made]
        if not wanted:
            return
        rows = self.table[wanted]
        decisions = self.ledger.decisions
        made = zip(wanted, self.ledger.obligations(rows), rows.get_column("decision").to_list(), strict=True)
        for i, ob, code in made:
            self._made[i] = (ob, decisions[code])

    def __getitem__(self, i: int) -> tuple[Obligation, Decision]:
        self.make([i])
        return self._made[i]

    def __iter__(self) -> Iterator[tuple[Obligation, Decision]]:
        self.make(range(len(self)))
        return (self._made[i] for i in range(len(self)))

    @property
    def obs(self) -> list[Obligation]:
        return [ob for ob, _ in self]


class LineMaker:
    """Makes the JSON lines of decided obligations for one run: v1 (`keys` None) or v2 (`keys`: the v2 rules
    table key of each compiled rule, by ``id(rule)``)."""

    def __init__(self, keys: Mapping[int, str] | None = None, tallied: Tallied | None = None) -> None:
        self.keys = keys
        self.tallied = tallied  # the obligations' evidence and rejected candidates as columns (else on them)
        self.lists: JsonLists | None = None  # (while writing, when they are columns)
        # the ledger's rules (by index), organisations, periods and decisions, by the codes its rows hold, and the
        # texts of each organisation (by code): set for the ledger being written (see _bind)
        self.rules: Mapping[int, CompiledRule] = {}
        self.orgs: list[Organisation] = []
        self.periods: list[Period] = []
        self.decisions: list[Decision] = []
        self._made: dict[str, pl.Series] = {}
        self.templates: dict[str, list[tuple[str, str | None]] | None] = {}  # parsed (see _parse)
        self.static_reasons: dict[tuple[int, str, str | None, str | None], int] = {}  # -> number in statics
        self.statics: list[tuple[str, str]] = []
        self.shapes: dict[tuple[int, ...], _Shape] = {}
        self.period_json: list[str] = []  # each period's JSON, by code
        self.rule_parts: dict[int, tuple[str, str, str, str, str]] = {}  # by rule code (see _rule_parts)
        self.rejected_reasons: dict[tuple[int, tuple[str, ...], Period | None, str | None], bytes] = {}

    def ledger_blocks(self, ledger: Ledger, sep: str = SEPARATOR) -> Iterator[bytes]:
        """The JSON lines of the rows of `ledger` (decided, in report order), a chunk at a time: each block is its
        chunk's lines joined by `sep` (by default the findings list's separator, ``,\\n    ``; a worker's spool file
        takes a newline), as UTF-8 bytes. No object per finding but for those made in Python."""
        for chunk, start in self._ledger_chunks(ledger):
            yield self._block(chunk, start, sep)

    def _bind(self, ledger: Ledger) -> None:
        """Read the codes of `ledger`'s rows (complete by now: every row added and decided) as this maker's, and
        make each organisation's and period's texts."""
        self.rules = ledger.rules
        self.orgs, self.periods, self.decisions = list(ledger.orgs), list(ledger.periods.items), list(ledger.decisions)
        orgs = self.orgs
        self._made = {
            "org_json": pl.Series([_org_json(o) for o in orgs], dtype=pl.String),
            "org_name": pl.Series([o.name for o in orgs], dtype=pl.String),
            "j_org_name": pl.Series([escaped(o.name) for o in orgs], dtype=pl.String),
            "org_id": pl.Series([o.id for o in orgs], dtype=pl.String),
        }
        self.period_json = [orjson.dumps(p.to_dict()).decode() for p in self.periods]
        self.shapes, self.rule_parts, self.static_reasons, self.statics = {}, {}, {}, []

    def ledger_cells(self, ledger: Ledger) -> Iterator[pl.DataFrame]:
        """The CSV and Parquet cells of the rows of `ledger` (decided, in report order; columns
        :data:`rules_engine.render.csv.COLUMNS`, as they are: not neutralised for spreadsheets), a frame per chunk:
        the cells :func:`rules_engine.render.csv.finding_cells` gives for each finding's model."""
        return self._cells(self._ledger_chunks(ledger))

    def _cells(self, chunks: Iterable[tuple[_Rows, int]]) -> Iterator[pl.DataFrame]:
        for chunk, start in chunks:
            try:
                yield self._cell_frame(chunk, start)
            except (pl.exceptions.PolarsError, UnicodeError):  # (as for the lines: see _block)
                if self.tallied is not None:
                    self.tallied.fill()
                self.lists = None
                yield _cells_frame([dict_cells(finding_dict(ob, d.status, d.waives)) for ob, d in chunk])

    def _ledger_chunks(self, ledger: Ledger) -> Iterator[tuple[_Rows, int]]:
        self._bind(ledger)
        table = ledger.table
        if self.tallied is not None:
            self.lists = JsonLists(self.tallied, escaped_column(self.tallied.ids), table.get_column("tally"))
        for start in range(0, table.height, CHUNK):
            yield _Rows(ledger, table.slice(start, CHUNK)), start

    def _block(self, chunk: _Rows, start: int, sep: str) -> bytes:
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

    def _python_rows(self, chunk: _Rows, where: list[int], evidence: pl.Series, rejected: pl.Series) -> list[str]:
        chunk.make(where)
        index = pl.Series(where, dtype=pl.Int64)
        lists = zip(evidence.gather(index).to_list(), rejected.gather(index).to_list(), strict=True)
        return [self._python(*chunk[i], *pair) for i, pair in zip(where, lists, strict=True)]

    def _lists(self, chunk: _Rows, start: int, rejected: bool = True) -> tuple[pl.Series, pl.Series]:
        """The chunk's evidence and rejected lists as JSON: an escalation's evidence from the ledger's column (the
        labels it read), the others' from the tally's columns, or from the obligations once the tally's lists were
        put on them (without `rejected`: the evidence only, the rejected lists empty)."""
        listed = chunk.table.get_column("evidence")
        if self.lists is not None:
            evidence, rejects = self.lists.chunk(start, start + len(chunk), rejected)
            return listed.fill_null(evidence).alias("evidence"), rejects
        if self.tallied is None:  # (no records)
            empty = pl.Series(["[]"] * len(chunk), dtype=pl.String)
            return listed.fill_null("[]").alias("evidence"), empty
        obs = chunk.obs
        evidence = pl.Series(
            [orjson.dumps(ob.evidence).decode() if ob.evidence else "[]" for ob in obs], dtype=pl.String
        )
        if not rejected:
            return evidence, pl.Series(["[]"] * len(obs), dtype=pl.String)
        return evidence, pl.Series([self._rejected(ob) for ob in obs], dtype=pl.String)

    # -- the columns -----------------------------------------------------------------------------------

    def _columnar(self, chunk: _Rows, start: int) -> pl.Series:
        evidence, rejected = self._lists(chunk, start)
        fallback: list[str | None] = [None] * len(chunk)
        where = self._in_python(chunk)
        if where:
            for i, line in zip(where, self._python_rows(chunk, where, evidence, rejected), strict=True):
                fallback[i] = line
        frame = self._row_frame(chunk, evidence, rejected)
        lines = self._render(frame, pl.Series("fallback", fallback, dtype=pl.String))
        missing = lines.is_null().arg_true()
        if missing.len():  # a template this path cannot parse: those findings from Python
            made = self._python_rows(chunk, missing.to_list(), evidence, rejected)
            lines = lines.scatter(missing, pl.Series(made, dtype=pl.String))
        return lines

    def _cell_frame(self, chunk: _Rows, start: int) -> pl.DataFrame:
        evidence, _ = self._lists(chunk, start, rejected=False)
        frame = self._row_frame(chunk, evidence, evidence)
        shapes = self._shapes(frame, escaped=False)
        org = frame.get_column("org")
        frame = frame.with_columns(
            self._made["org_name"].gather(org).alias("org_name"),
            self._made["org_id"].gather(org).alias("org_id"),
            *shapes.get_columns(),
        )
        message_zh, message_en = _messages(frame, shapes)
        cells = frame.select(
            pl.col("rule_id"),
            pl.col("status_zh"),
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
            pl.lit(message_zh).alias("message_zh"),
            pl.lit(message_en).alias("message_en"),
            pl.col("reason_zh"),
            pl.lit("").alias("waiver"),
            pl.col("set_by"),
        )
        cells.columns = list(COLUMNS)
        where = set(self._in_python(chunk))
        where.update(cells.get_column(COLUMNS[14]).is_null().arg_true().to_list())
        if not where:
            return cells
        # findings this path does not cover: their cells from the finding made in Python, put in their place
        rows = sorted(where)
        chunk.make(rows)
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

    def _row_frame(self, chunk: _Rows, evidence: pl.Series, rejected: pl.Series) -> pl.DataFrame:
        """The chunk as columns: the subject's texts (as they read, not escaped), the codes of the rule, decision,
        organisation and periods (the ledger's: see :meth:`_bind`) and of the count-independent reason each
        finding shares with others, the count and the lists."""
        t = chunk.table
        period, window = t.get_column("period"), t.get_column("window")
        decision = t.get_column("decision")
        na = [i for i, d in enumerate(self.decisions) if d.status is Status.not_applicable]
        needs = (t.get_column("unk") != "") | decision.is_in(na)
        static = pl.Series([_NONE] * t.height, dtype=pl.UInt32)
        if needs.any():
            where = needs.arg_true()
            keys = t.select("rule", "decision", "na", "unk")[where]
            distinct = keys.unique(maintain_order=True)
            rules, decisions = self.rules, self.decisions
            numbers = [self._static_of(rules[r], decisions[d].status, n, u) for r, d, n, u in distinct.iter_rows()]
            found = keys.join(
                distinct.with_columns(pl.Series("_s", numbers, dtype=pl.UInt32)),
                on=["rule", "decision", "na", "unk"],
                how="left",
                maintain_order="left",
            ).get_column("_s")
            static = static.scatter(where, found)
        return pl.DataFrame(
            {
                **{name: t.get_column(name) for name in _NAMES},
                "rule": t.get_column("rule").cast(pl.UInt32),
                "decision": decision,
                "org": t.get_column("org"),
                "period": period,
                "window": window.fill_null(period),
                "judged": window.fill_null(_NONE),
                "count": t.get_column("count"),
                "static": static,
                "evidence": evidence,
                "rejected": rejected,
            }
        )

    def _in_python(self, chunk: _Rows) -> list[int]:
        """The positions of the findings of the chunk made in Python: waived findings, those with a waiver
        (expired) and those made undeterminable by rejected rows (their texts name the rows); escalations are made
        from columns but when waived or covered by a waiver."""
        ledger, t = chunk.ledger, chunk.table
        status = pl.Series([d.status.value for d in self.decisions], dtype=pl.String).gather(t.get_column("decision"))
        escalations = [i for i, rule in ledger.rules.items() if rule.rule.escalate is not None]
        unk, window = t.get_column("unk") != "", t.get_column("window")
        needs = (
            t.get_column("waiver").is_not_null()
            | (status == Status.waived.value)
            | (
                ~t.get_column("rule").is_in(escalations)
                & (status != Status.not_applicable.value)
                & ~unk
                & ((status == Status.undeterminable.value) | window.is_null())
            )
        )
        if ledger.lacking:  # (their reasons say how many records were set aside for lacking a field)
            needs = needs | t.get_column("key").is_in(list(ledger.lacking))
        return needs.arg_true().to_list()

    def _static_of(self, rule: CompiledRule, status: Status, na: str, unk: str) -> int:
        """The number of the count-free reason of a finding of `rule` with `status`, not applicable because of
        `na` or with the roster gap `unk`, in ``self.statics``."""
        key = (id(rule), status.value, na, unk)
        found = self.static_reasons.get(key)
        if found is None:
            if status is Status.not_applicable:
                texts = NA.get(na or "not_in_force")
                zh, en = texts or (reason_text("na", na) if REASON_SEP in na else ("不适用", "not applicable"))
                if na == "retired":
                    zh, en = f"{zh}（{rule.retired_by}）", f"{en} ({rule.retired_by})"
            else:
                zh, en = UNK.get(unk) or reason_text("unk", unk)
            found = self.static_reasons[key] = len(self.statics)
            self.statics.append((zh, en))
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

    # -- the shapes: what a finding's texts share with the findings of the same rule, status, window, count --

    def _shapes(self, frame: pl.DataFrame, escaped: bool) -> pl.DataFrame:
        """The shape of each finding of the chunk (`frame`, from :meth:`_row_frame`): the parts of its line (or, not
        `escaped`, of its cells) that depend only on its rule, decision, period, window, count and count-free
        reason, each made once per run (:meth:`_shape`), as columns in the chunk's order."""
        key = pl.struct(_SHAPE_KEYS)
        coded = frame.select(
            *_SHAPE_KEYS,
            (key.rank("dense") - 1).cast(pl.UInt32).alias("\x00shape"),
            key.is_first_distinct().alias("\x00first"),
        )
        distinct = coded.filter(pl.col("\x00first")).drop("\x00first")
        shapes: list[_Shape] = [None] * distinct.height  # type: ignore[list-item]  # (each set below)
        for *shape_key, rank in distinct.iter_rows():
            shapes[rank] = self._shape(*shape_key)
        code = coded.get_column("\x00shape")
        names: tuple[str, ...]
        if escaped:
            names = ("head", "mid", "sev", "end")
            texts = {name: [s.line[i] for s in shapes] for i, name in enumerate(names)}
            zh, en = [s.j_zh for s in shapes], [s.j_en for s in shapes]
        else:
            names = _CELL_TEXTS
            texts = {name: [s.cells[i] for s in shapes] for i, name in enumerate(names)}
            zh, en = [s.zh for s in shapes], [s.en for s in shapes]
        columns = [pl.Series(name, values, dtype=pl.String) for name, values in texts.items()]
        for lang, slots in (("zh", zh), ("en", en)):
            width = max((len(s[1]) for s in slots if s is not None), default=0)
            for i in range(width + 1):
                piece = [None if s is None else s[0][i] if i < len(s[0]) else "" for s in slots]
                columns.append(pl.Series(f"{lang}_p{i}", piece, dtype=pl.String))
                if i < width:
                    var = [s[1][i] if s is not None and i < len(s[1]) else 0 for s in slots]
                    columns.append(pl.Series(f"{lang}_v{i}", var, dtype=pl.UInt32))
        return pl.DataFrame(columns)[code]

    def _shape(
        self, rule: int, decision: int, period: int, window: int, judged: int, count: int, static: int
    ) -> _Shape:
        key = (rule, decision, period, window, judged, count, static)
        found = self.shapes.get(key)
        if found is None:
            found = self.shapes[key] = self._make_shape(rule, decision, period, window, judged, count, static)
        return found

    def _make_shape(
        self, rule_code: int, decision: int, period_code: int, window_code: int, judged: int, count: int, static: int
    ) -> _Shape:
        rule: CompiledRule = self.rules[rule_code]
        spec = rule.rule
        status: Status = self.decisions[decision].status
        periods: list[Period] = self.periods
        period, window = periods[period_code], periods[window_code]
        expected = _expected_for(rule, "")
        window_range = f"{window.start.isoformat()}..{window.end.isoformat()}"
        actual_zh, actual_en = f"{count}次" if spec.escalate is None else str(count), str(count)
        reason: tuple[str, str] | None = None
        if static != _NONE:
            reason = self.statics[static]
        elif spec.escalate is not None:
            found = escalation_reason(rule, count, status)
            reason = (found["zh"], found["en"])
        elif judged != _NONE:
            w = periods[judged]
            span = f"{w.start.isoformat()}..{w.end.isoformat()}"
            found_zh, found_en = (
                f"在 {span} 内找到 {count} 条符合条件的记录",
                f"found {count} matching record(s) in {span}",
            )
            if status is Status.pending:
                end = w.end.isoformat()
                reason = (f"{found_zh}；时限 {end} 未到", f"{found_en}; the window ends {end}")
            elif status is Status.violated:
                reason = (f"{found_zh}，要求{expected['zh']}", f"{found_en}; required {expected['en']}")
            elif status is Status.fulfilled:
                reason = (f"{found_zh}，满足{expected['zh']}", f"{found_en}; meets {expected['en']}")
        # (no reason: a finding made in Python, see _in_python; its line here is not used)
        short = status is Status.violated and spec.escalate is None and 0 < count < rule.at_least
        kind = "short" if short else status.value
        custom = getattr(spec.messages, kind) if kind in ("violated", "short", "fulfilled", "pending") else None
        zh_t, en_t = (custom.zh, custom.en) if custom else _DEFAULT_MESSAGES[status]
        texts = {
            "rule_id": (spec.id, spec.id),
            "period": (period.label, period.label),
            "window": (window.label if window.days == period.days else window_range,) * 2,
            "clause": (spec.citation.label(),) * 2,
            "title": (spec.title.zh, spec.title.en),
            "expected": (expected["zh"], expected["en"]),
            "actual": (actual_zh, actual_en),
        }
        zh = _slots(self._parsed(zh_t), {k: v[0] for k, v in texts.items()})
        en = _slots(self._parsed(en_t), {k: v[1] for k, v in texts.items()})
        prefix, mid, sev, tail, set_by = self._rule_parts(rule_code)
        line = (
            f'{prefix},"status":"{status.value}","subject":',
            f',"period":{self.period_json[period_code]},"window":{self.period_json[window_code]}{mid}'
            f',"actual":{{"zh":"{actual_zh}","en":"{actual_en}"}},"count":{count},"evidence":',
            f'{sev},"message":{{"zh":"',
            None
            if reason is None
            else f'"}},"reason":{{"zh":"{escaped(reason[0])}","en":"{escaped(reason[1])}"}}{tail},"waiver":null}}',
        )
        cells = (
            spec.id,
            status.zh,
            status.value,
            period.label,
            window_range,
            expected["zh"],
            actual_zh,
            spec.severity.value,
            None if reason is None else reason[0],
            set_by,
        )
        return _Shape(line, cells, zh, en, _escaped_slots(zh), _escaped_slots(en))

    def _rule_parts(self, code: int) -> tuple[str, str, str, str, str]:
        """A rule's (variant's) parts of a line (escaped: the head before the status, the part after the window, the
        severity, the part after the reason) and its ``set_by`` cell, made once per rule."""
        found = self.rule_parts.get(code)
        if found is not None:
            return found
        rule: CompiledRule = self.rules[code]
        spec = rule.rule
        static_raw = _static_raw(rule)
        expected = _expected_for(rule, "")
        if self.keys is None:
            head = {
                "rule_id": spec.id,
                "rule_title": static_raw["rule_title"],
                "pack": rule.loaded.pack.id,
                "pack_version": rule.loaded.pack.version,
            }
            prefix = orjson.dumps(head).decode()[:-1]
            mid = "," + orjson.dumps({"clause": static_raw["clause"], "expected": expected}).decode()[1:-1]
            sev = "," + orjson.dumps({"severity": static_raw["severity"]}).decode()[1:-1]
            tail = "," + orjson.dumps({"params": static_raw["params"]}).decode()[1:-1]
        else:
            prefix = orjson.dumps({"rule": self.keys[id(rule)]}).decode()[:-1]
            mid = sev = tail = ""
        found = self.rule_parts[code] = (prefix, mid, sev, tail, set_by_text(rule.params_dump()))
        return found

    def _parsed(self, template: str) -> list[tuple[str, str | None]] | None:
        if template not in self.templates:
            self.templates[template] = _parse(template)
        return self.templates[template]

    # -- the lines ---------------------------------------------------------------------------------------

    def _render(self, frame: pl.DataFrame, fallback: pl.Series) -> pl.Series:
        """Each finding's JSON line from its columns: the subject's texts escaped here, the shapes' and the
        organisations' once each (JSON escapes character by character, so a text made of escaped pieces is the
        text escaped)."""
        shapes = self._shapes(frame, escaped=True)
        org = frame.get_column("org")
        frame = frame.with_columns(
            *_escaped_columns(frame, _NAMES),
            self._made["j_org_name"].gather(org).alias("org_name"),
            self._made["org_json"].gather(org).alias("org_json"),
            *shapes.get_columns(),
            fallback,
        )
        message_zh, message_en = _messages(frame, shapes)
        second = (
            pl.when(_truthy("second"))
            .then(
                pl.concat_str(
                    pl.lit('{"id":"'),
                    pl.col("second"),
                    pl.lit('","name":"'),
                    pl.when(_truthy("second_name")).then(pl.col("second_name")).otherwise(pl.col("second")),
                    pl.lit('","role":'),
                    _q_or_null(pl.col("second_role")),
                    pl.lit("}"),
                )
            )
            .otherwise(pl.lit("null"))
        )
        line = pl.concat_str(
            pl.col("head"),
            pl.lit('{"kind":"'),
            pl.col("kind"),
            pl.lit('","id":"'),
            pl.col("sid"),
            pl.lit('","name":"'),
            pl.col("name"),
            pl.lit('","role":'),
            _q_or_null(pl.col("role")),
            pl.lit(',"portfolio":'),
            _q_or_null(pl.col("portfolio")),
            pl.lit(',"second":'),
            second,
            pl.lit(',"record":'),
            _q_or_null(pl.col("trigger")),
            pl.lit('},"organisation":'),
            pl.col("org_json"),
            pl.col("mid"),
            pl.col("evidence"),
            pl.lit(',"rejected":'),
            pl.col("rejected"),
            pl.col("sev"),
            pl.lit(message_zh),
            pl.lit('","en":"'),
            pl.lit(message_en),
            pl.col("end"),
        )
        return frame.select(pl.coalesce(pl.col("fallback"), line)).to_series()


class _Shape:
    """What the findings of one rule, decision, period, window, count and count-free reason share: the pieces of
    their JSON line (head, mid, sev, end: escaped; the end None without a reason), their CSV cells
    (:data:`_CELL_TEXTS`), and their messages' slots (zh, en: as read, then escaped; None for a template this path
    does not cover)."""

    __slots__ = ("cells", "en", "j_en", "j_zh", "line", "zh")

    def __init__(
        self,
        line: tuple[str, str, str, str | None],
        cells: tuple[str | None, ...],
        zh: _Slots | None,
        en: _Slots | None,
        j_zh: _Slots | None,
        j_en: _Slots | None,
    ) -> None:
        self.line, self.cells, self.zh, self.en, self.j_zh, self.j_en = line, cells, zh, en, j_zh, j_en


# a message as slots: the texts between the subject's placeholders, and those placeholders (numbers in _VARS)
_Slots = tuple[list[str], list[int]]


def _parse(template: str) -> list[tuple[str, str | None]] | None:
    """A message template as (literal text, placeholder or None) pairs; None for one this path does not cover."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return None
    out: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is not None and (spec or conversion or (name not in _VARS and name not in _SHAPE_PLACEHOLDERS)):
            return None
        out.append((literal, name))
    return out


def _slots(parsed: list[tuple[str, str | None]] | None, values: Mapping[str, str]) -> _Slots | None:
    """A parsed template's slots for one shape: its placeholders but the subject's filled from `values`."""
    if parsed is None:
        return None
    pieces, names = [""], []
    for literal, name in parsed:
        pieces[-1] += literal
        if name is None:
            continue
        if name in _VARS:
            names.append(_VARS[name])
            pieces.append("")
        else:
            pieces[-1] += values[name]
    return pieces, names


def _escaped_slots(slots: _Slots | None) -> _Slots | None:
    return None if slots is None else ([escaped(p) for p in slots[0]], slots[1])


def _escaped_columns(frame: pl.DataFrame, names: Sequence[str]) -> list[pl.Series]:
    """The text columns `names` of `frame` JSON-escaped (one scan finds whether any needs it)."""
    columns = [frame.get_column(name) for name in names]
    if not frame.select(pl.concat_str(names, ignore_nulls=True).str.contains(NEEDS_ESCAPE).any()).item():
        return columns
    return [escaped_column(column) for column in columns]


def _messages(frame: pl.DataFrame, shapes: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """Each finding's message (zh, en; as read, or JSON-escaped when the frame's texts and the shapes' are): its
    shape's slots filled with the subject's texts, gathered from the texts of every placeholder stacked one above
    the other (null where the template is one this path does not cover)."""
    n = frame.height
    org, name, portfolio, second = pl.col("org_name"), pl.col("name"), pl.col("portfolio"), pl.col("second_name")
    kind = pl.col("kind")
    who_zh = (
        pl.when(kind == "organisation")
        .then(org)
        .when(kind == "record")
        .then(pl.concat_str(org, pl.lit("（记录 "), pl.col("sid"), pl.lit("）")))
        .when(_truthy("second_name"))
        .then(pl.concat_str(org, name, pl.lit("与"), second))
        .when(_truthy("portfolio"))
        .then(pl.concat_str(org, name, pl.lit("（分管"), portfolio, pl.lit("）")))
        .otherwise(pl.concat_str(org, name))
    )
    who_en = (
        pl.when(kind == "organisation")
        .then(org)
        .when(kind == "record")
        .then(pl.concat_str(org, pl.lit(" (record "), pl.col("sid"), pl.lit(")")))
        .when(_truthy("second_name"))
        .then(pl.concat_str(name, pl.lit(" of "), org, pl.lit(" with "), second))
        .when(_truthy("portfolio"))
        .then(pl.concat_str(name, pl.lit(" of "), org, pl.lit(" (portfolio "), portfolio, pl.lit(")")))
        .otherwise(pl.concat_str(name, pl.lit(" of "), org))
    )
    widths = {lang: sum(1 for c in shapes.columns if c.startswith(f"{lang}_v")) for lang in ("zh", "en")}
    texts = frame.select(
        pl.lit("", dtype=pl.String).alias("empty"),
        *((who_zh.alias("who_zh"),) if widths["zh"] else ()),
        *((who_en.alias("who_en"),) if widths["en"] else ()),
        name,
        org,
        portfolio.fill_null(""),
        second.fill_null(""),
    )
    row = pl.int_range(0, n, dtype=pl.UInt32, eager=True)
    out = []
    for lang in ("zh", "en"):
        parts = [shapes.get_column(f"{lang}_p0")]
        if widths[lang]:
            # (in the order of _VARS)
            names = ("empty", f"who_{lang}", "name", "org_name", "portfolio", "second_name")
            stacked = pl.concat([texts.get_column(c) for c in names])
            for i in range(widths[lang]):
                at = shapes.get_column(f"{lang}_v{i}") * n + row
                parts += [stacked.gather(at).alias(f"s{i}"), shapes.get_column(f"{lang}_p{i + 1}")]
        out.append(pl.DataFrame(parts).select(pl.concat_str(pl.all())).to_series())
    return out[0], out[1]


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
        self.why_codes: pl.Series | None = None  # the code of each why (its first part), by number
        # the evidence lists (null: none) of the tally numbers `low` on of the findings at positions `span` (made a
        # segment of _SEGMENT findings at a time: a chunk's are then one gather, and the whole run's are never held)
        self.evidence = pl.Series(dtype=pl.String)
        self.low = 0
        self.span = (0, 0)

    def chunk(self, start: int, end: int, with_rejected: bool = True) -> tuple[pl.Series, pl.Series]:
        """The lists of the findings at positions `start` to `end` (exclusive), ``[]`` for none (the rejected
        lists all ``[]`` without `with_rejected`)."""
        n = end - start
        obs = self.rows.slice(start, n)
        if not (self.span[0] <= start and end <= self.span[1]):
            self._segment(start, max(end, start + _SEGMENT))
        evidence = self.evidence.gather(obs - self.low).fill_null("[]").alias("evidence")
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

    def _segment(self, start: int, end: int) -> None:
        """Make the evidence lists of the tally numbers the findings at positions `start` to `end` name (those
        between the least and the greatest of them: the tally numbers rise with the organisation, as the
        findings do), in place of the segment made before."""
        self.evidence = pl.Series(dtype=pl.String)  # (the last segment's let go first)
        obs = self.rows.slice(start, end - start)
        self.span = (start, end)
        low, high = obs.min(), obs.max()
        if low is None or high is None:  # (none tallied)
            self.low = 0
            return
        assert isinstance(low, int) and isinstance(high, int)
        self.low = low
        self.evidence = pl.Series([None] * (high - low + 1), dtype=pl.String)
        found = self.tallied.evidence
        if found is None or not found.height:
            return
        numbers = found.get_column("ob")
        if numbers.is_sorted():  # (as the tally writes them: the rows of one obligation are neighbours)
            at, stop = int(numbers.search_sorted(low, "left")), int(numbers.search_sorted(high, "right"))
            found = found.slice(at, stop - at)
            size = _EVIDENCE_ROWS
        else:
            found = found.filter(pl.col("ob").is_between(low, high))
            size = found.height
        parts, lists = [], []
        numbers = found.get_column("ob")
        ids = self.ids
        # the ids gathered a slice of whole lists at a time (their column for every list of a segment at once could
        # be large); the lists of one obligation are neighbours (sorted by it)
        at = 0
        while at < found.height:
            end = min(at + size, found.height)
            if end < found.height:  # (back to the first row of the obligation cut in two, or past it)
                end = int(numbers.search_sorted(numbers[end], "left"))
                if end <= at:
                    end = int(numbers.search_sorted(numbers[at], "right"))
            part = found.slice(at, end - at)
            joined = (
                part.with_columns(id=ids.gather(part.get_column("row")))
                .group_by("ob", maintain_order=True)
                .agg(pl.col("id").str.join('","'))
            )
            parts.append(joined.get_column("ob") - low)
            lists.append(joined.select(pl.concat_str(pl.lit('["'), pl.col("id"), pl.lit('"]'))).to_series())
            at = end
        if parts:
            self.evidence = self.evidence.scatter(pl.concat(parts), pl.concat(lists))

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
        portfolio area (a ``portfolio`` why). Each distinct (rule, why, window, area) of the chunk is looked up once;
        the last few thousand texts are kept for reuse."""
        tallied = self.tallied
        if len(self.made) > _REASON_TEXTS:  # most are one person's window: kept for a while, not the whole run
            self.texts, self.made, self.column = {}, [], pl.Series(dtype=pl.String)
        if self.why_codes is None:
            self.why_codes = pl.Series([why[0] for why in tallied.whys], dtype=pl.String)
        why = part.get_column("why").cast(pl.UInt32)
        code = self.why_codes.gather(why)
        about = tallied.about_frame()[obs.gather(part.get_column("pos"))]
        outside, in_area = code == "outside", (code == "portfolio") & about.get_column("portfolio").is_not_null()
        keys = pl.DataFrame(
            {
                "rule": about.get_column("rule"),
                "why": why,
                "window": pl.select(
                    pl.when(outside).then(about.get_column("window")).otherwise(pl.lit(_NONE, pl.UInt32))
                ).to_series(),
                "in_area": in_area,
                "area": pl.select(
                    pl.when(in_area).then(about.get_column("portfolio")).otherwise(pl.lit(""))
                ).to_series(),
            }
        )
        distinct = keys.unique(maintain_order=True)
        texts, made, whys = self.texts, self.made, tallied.whys
        rules, periods = tallied.ledger.rules, tallied.ledger.periods.items
        found, new = [], len(made)
        for rule_index, why_number, window, has_area, area in distinct.iter_rows():
            span = None if window == _NONE else (periods[window].start, periods[window].end)
            cached = (rule_index, why_number, span, area if has_area else None)
            text = texts.get(cached)
            if text is None:
                reason = _reason_text(rules[rule_index], whys[why_number], Period(*span) if span else None, cached[3])
                text = texts[cached] = len(made)
                made.append(orjson.dumps(reason).decode())
            found.append(text)
        if len(made) > new:  # (the texts as a column, extended by the new ones)
            self.column = self.column.extend(pl.Series(made[new:], dtype=pl.String))
        numbered = distinct.with_columns(pl.Series("\x00text", found, dtype=pl.UInt32))
        chosen = keys.join(numbered, on=list(keys.columns), how="left", maintain_order="left").get_column("\x00text")
        return self.column.gather(chosen)
