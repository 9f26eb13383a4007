"""The ledger: every obligation of a run (or of a worker's share) as one row of a table, and what each stage
found about it as that row's columns. It is the old ``Obligation`` object split in three: the planned item (the
plan's columns, :data:`rules_engine.plan.PLAN_SCHEMA`), its tally (``count``, ``tally``: its number in
:class:`rules_engine.tally.Tallied`, which holds its evidence and rejected candidates; an escalation's count and
``evidence``, the labels of its lower findings; ``taint``, the rows that cast doubt on it in
:attr:`Ledger.taints`) and its verdict (``waiver``, ``expired``, ``decision``).

Each column has one writer: the plan the planned item (:func:`rules_engine.plan.plan_table`), the tally
``count`` and ``tally`` (the escalate stage an escalation's ``count`` and ``evidence``),
:meth:`Ledger.mark_taints` ``taint``, :meth:`Ledger.apply_waivers` ``waiver`` and ``expired``, the decide and
escalate stages ``decision``. Rows are added by the plan, by trigger records (the
tally, as objects: :meth:`Ledger.add`) and by escalation rules (each layer of them, ``layer``, as rows:
:meth:`Ledger.add_rows`); :meth:`Ledger.order` puts them in report order.

:class:`rules_engine.plan.Obligation` objects are made from rows only where Python code needs one (a finding
made by :func:`rules_engine.findings.finding_dict`, a taint's people), and the rows added as objects keep theirs
(a trigger's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence

import orjson
import polars as pl

from .compile import CompiledRule, Decision
from .load.inputs import BadRow
from .load.waivers import LoadedWaiver
from .model.roster import Organisation
from .periods import Period
from .plan import PLAN_SCHEMA, Obligation, PeriodCodes, Planned, Why, obligation_of

Lists = tuple[list[str] | None, tuple[list[str], list[Why]] | None]  # evidence ids; rejected ids and whys

LEDGER_SCHEMA: dict[str, pl.DataType] = {
    **PLAN_SCHEMA,
    "trigger": pl.String(),  # the id of the record that started a trigger rule's duty
    "key": pl.UInt32(),  # the row's number in the order rows were added (stable: rows are sorted later)
    "layer": pl.UInt32(),  # 0: planned or started by a trigger; n: raised by the n-th layer of escalation rules
    "count": pl.Int64(),
    "lack": pl.Int64(),  # candidates set aside for lacking a field a filter reads (they might have counted)
    "tally": pl.UInt32(),  # its number in the tally (tally.Tallied), null: not tallied
    "taint": pl.Boolean(),
    "waiver": pl.UInt32(),  # the waiver covering it (position in Ledger.waivers), null: none
    "expired": pl.Boolean(),
    "decision": pl.UInt32(),  # position in Ledger.decisions
    "evidence": pl.String(),  # an escalation's evidence, the JSON list a finding holds; null: none, or the tally's
}
MATCHED = ("kind", "sid", "first", "second", "portfolio", "trigger")
"""The columns of a row that say which records it looks at, besides organisation, rule and windows."""
_ADDED = {
    "trigger": pl.lit(None, pl.String),
    "layer": pl.lit(0, pl.UInt32),
    "count": pl.lit(0, pl.Int64),
    "lack": pl.lit(0, pl.Int64),
    "tally": pl.lit(None, pl.UInt32),
    "taint": pl.lit(False),
    "waiver": pl.lit(None, pl.UInt32),
    "expired": pl.lit(False),
    "decision": pl.lit(None, pl.UInt32),
    "evidence": pl.lit(None, pl.String),
}


class Ledger:
    """The obligations of a run as rows (see the module's text). `planned`: the plan's table."""

    def __init__(self, planned: Planned) -> None:
        self.orgs: list[Organisation] = list(planned.orgs)
        self._org_codes = {org.id: i for i, org in enumerate(self.orgs)}
        self.periods = PeriodCodes(planned.periods)
        self.rules: dict[int, CompiledRule] = planned.rules
        n = planned.table.height
        self.table = planned.table.with_columns(**_ADDED, key=pl.int_range(0, n, dtype=pl.UInt32)).select(
            *LEDGER_SCHEMA
        )
        self.size = n  # rows added so far (the next key)
        self._ordered = False  # whether the rows were sorted (before: a row's key is its position)
        self.objects: dict[int, Obligation] = {}  # by key: the rows added as objects, and those made into one
        self.taints: dict[int, list[BadRow]] = {}  # by key
        # by key: how many candidates were set aside for lacking a field a filter reads, and which fields (few rows)
        self.lacking: dict[int, tuple[int, str]] = {}
        self.waivers: list[LoadedWaiver] = []
        self.decisions: list[Decision] = []
        self.evidence: dict[int, Lists] = {}
        self.filled = False  # the tally's evidence and rejected candidates in `evidence` (by tally number)

    def __len__(self) -> int:
        return self.table.height

    def org_code(self, org_id: str) -> int:
        """The number of an organisation of the ledger."""
        return self._org_codes[org_id]

    # -- rows --------------------------------------------------------------------------------------------

    def add(self, obligations: Sequence[Obligation], layer: int = 0) -> pl.DataFrame:
        """Add `obligations` as rows (in `layer`; their count, taints and waiver as they stand); returns the new
        rows."""
        if not obligations:
            return self.table.clear()
        start = self.size
        codes = self._org_codes
        for ob in obligations:
            if ob.org.id not in codes:
                codes[ob.org.id] = len(self.orgs)
                self.orgs.append(ob.org)
        code = self.periods.code
        rows = pl.DataFrame(
            {
                "org": [codes[ob.org.id] for ob in obligations],
                "rule": [ob.rule.index for ob in obligations],
                "kind": [ob.subject_kind for ob in obligations],
                "sid": [ob.subject_id for ob in obligations],
                "name": [ob.subject_name for ob in obligations],
                "role": [ob.role for ob in obligations],
                "portfolio": [ob.portfolio for ob in obligations],
                "first": [ob.first for ob in obligations],
                "second": [ob.second for ob in obligations],
                "second_name": [ob.second_name for ob in obligations],
                "second_role": [ob.second_role for ob in obligations],
                "period": [code(ob.period) for ob in obligations],
                "window": [None if ob.window is None else code(ob.window) for ob in obligations],
                "na": [ob.na for ob in obligations],
                "unk": [ob.unk for ob in obligations],
                "trigger": [ob.trigger for ob in obligations],
                "key": range(start, start + len(obligations)),
                "layer": layer,
                "count": [ob.count for ob in obligations],
                "lack": [ob.lacking[0] if ob.lacking else 0 for ob in obligations],
                "tally": None,
                "taint": [bool(ob.taint) for ob in obligations],
                "waiver": None,
                "expired": False,
                "decision": None,
                "evidence": None,
            },
            schema=LEDGER_SCHEMA,
        )
        for key, ob in enumerate(obligations, start):
            self.objects[key] = ob
            if ob.taint:
                self.taints[key] = ob.taint
        self.size += len(obligations)
        self.table = pl.concat([self.table, rows])
        return rows

    def add_rows(self, rows: pl.DataFrame, layer: int = 0) -> pl.DataFrame:
        """Add `rows` (the plan's columns, :data:`PLAN_SCHEMA`, of organisations of the ledger, and their ``count``
        and ``evidence``: an escalation layer's, :func:`rules_engine.escalation.plan_layer`) in `layer`, not
        tallied, tainted or waived; returns the new rows."""
        n = rows.height
        if not n:
            return self.table.clear()
        start = self.size
        added = rows.select(
            *PLAN_SCHEMA,
            **{
                **_ADDED,
                "key": pl.int_range(start, start + n, dtype=pl.UInt32),
                "layer": pl.lit(layer, pl.UInt32),
                "count": pl.col("count").cast(pl.Int64),
                "evidence": pl.col("evidence").cast(pl.String),
            },
        ).select(*LEDGER_SCHEMA)
        self.size += n
        self.table = pl.concat([self.table, added])
        return added

    def parts(self, groups: Sequence[Collection[str]]) -> list[Ledger]:
        """The planned rows (before the tally: no row added since the plan) of each group of organisations (their
        ids; every organisation with rows in one group) as a ledger of its own, in the order planned, sharing this
        ledger's organisations, periods and rules; this ledger's table is let go."""
        if self.table.height != self.size or self._ordered or self.objects:
            raise RuntimeError("a ledger is split into parts before the tally only")
        codes = self._org_codes
        group_of = {codes[org]: g for g, orgs in enumerate(groups) for org in orgs if org in codes}
        table = self.table.select(*PLAN_SCHEMA)
        self.table = self.table.clear()
        numbers = table.get_column("org").replace_strict(group_of, return_dtype=pl.UInt32)  # (every row in a group)
        split = table.with_columns(numbers.alias("_g")).partition_by("_g", as_dict=True, include_key=False)
        del table, numbers
        empty = self.table.select(*PLAN_SCHEMA)
        return [
            Ledger(Planned(split.pop((g,), empty), self.orgs, self.periods.items, self.rules))
            for g in range(len(groups))
        ]

    def planned_part(
        self, orgs: Collection[str] | None = None, started: Sequence[Obligation] = ()
    ) -> tuple[Ledger, pl.Series]:
        """The planned rows (layer 0, not started by a trigger record) of the organisations `orgs` (None: all) as a
        ledger of its own, then rows for the obligations `started` (by trigger records, as objects), none tallied
        (count 0; no taints, waivers or decisions), sharing this ledger's organisations, periods and rules; and the
        position in this ledger's table of each planned row (a row's key is its position). For counting more
        records for some organisations' obligations (the monitor: :mod:`rules_engine.monitor.core`)."""
        keep = (pl.col("layer") == 0) & pl.col("trigger").is_null()
        if orgs is not None:
            codes = self._org_codes
            keep &= pl.col("org").is_in([codes[o] for o in orgs if o in codes])
        picked = self.table.select(*PLAN_SCHEMA, "layer", "trigger").with_row_index("_at").filter(keep)
        part = Ledger(Planned(picked.select(*PLAN_SCHEMA), self.orgs, self.periods.items, self.rules))
        if started:
            part.add(started)
            part.table = part.table.with_columns(pl.lit(0, pl.Int64).alias("count"), pl.lit(0, pl.Int64).alias("lack"))
            part.taints = {}
            part.table = part.table.with_columns(pl.lit(False).alias("taint"))
        return part, picked.get_column("_at")

    def judged(self, applicable: bool = True, texts: bool = True) -> pl.DataFrame:
        """The rows with a judged window (and, with `applicable`, that apply and the roster can judge: those the
        tally counts records for), with their organisation's id and their windows' dates (``p_start``,
        ``p_end``: the calendar window; ``w_start``, ``w_end``: the part judged), and with `texts` the subject's
        columns the tally matches on (:data:`MATCHED`)."""
        return self.dated(self.judged_rows(applicable, texts))

    def judged_rows(self, applicable: bool = True, texts: bool = True) -> pl.DataFrame:
        """The rows of :meth:`judged` with the organisation and the windows as codes (``org``, ``period``,
        ``window``): :meth:`dated` adds the organisation's id and the dates. Without `texts`, numbers only
        (``key``, ``org``, ``rule``, ``period``, ``window``: a few bytes a row, where the texts take about a hundred);
        :meth:`matched` adds the texts to a few of them."""
        judged = pl.col("window").is_not_null()
        if applicable:
            judged &= (pl.col("na") == "") & (pl.col("unk") == "")
        needed = ("key", "org", "rule", *(MATCHED if texts else ()), "period", "window")
        return self.table.lazy().filter(judged).select(needed).collect()  # (only the columns needed are filtered)

    def matched(self, rows: pl.DataFrame) -> pl.DataFrame:
        """`rows` (with their ``key``) with the columns of :data:`MATCHED`."""
        keys = rows.get_column("key")
        if not self._ordered and self.table.height == self.size:  # (a row's key is its position)
            return rows.with_columns(self.table.select(MATCHED)[keys])
        found = rows.select("key").join(self.table.select("key", *MATCHED), on="key", how="left", maintain_order="left")
        return rows.with_columns(found.drop("key"))

    def dated(self, rows: pl.DataFrame) -> pl.DataFrame:
        """`rows` (with ``org``, ``period`` and ``window`` codes) with the organisation's id (``org_id``) and the
        windows' dates (``p_start``, ``p_end``, ``w_start``, ``w_end``)."""
        starts = pl.Series([p.start for p in self.periods.items], dtype=pl.Date)
        ends = pl.Series([p.end for p in self.periods.items], dtype=pl.Date)
        org_ids = pl.Series([o.id for o in self.orgs], dtype=pl.String)
        period, window = rows.get_column("period"), rows.get_column("window")
        return rows.with_columns(
            org_ids.gather(rows.get_column("org")).alias("org_id"),
            starts.gather(period).alias("p_start"),
            ends.gather(period).alias("p_end"),
            starts.gather(window).alias("w_start"),
            ends.gather(window).alias("w_end"),
        )

    def set_tally(self, tallied: pl.DataFrame) -> None:
        """The tally's ``count``, ``lack`` and ``tally`` number of the rows it counted (`tallied`: ``key``,
        ``count``, ``lack``, ``tally``)."""
        n = self.table.height
        if n == self.size and not self._ordered:  # (rows still in the order added: a row's key is its position)
            at = tallied.get_column("key")
            count = pl.zeros(n, dtype=pl.Int64, eager=True).scatter(at, tallied.get_column("count"))
            lack = pl.zeros(n, dtype=pl.Int64, eager=True).scatter(at, tallied.get_column("lack"))
            tally = pl.repeat(None, n, dtype=pl.UInt32, eager=True).scatter(at, tallied.get_column("tally"))
            self.table = self.table.with_columns(count.alias("count"), lack.alias("lack"), tally.alias("tally"))
            return
        self.table = (
            self.table.drop("count", "lack", "tally")
            .join(tallied.select("key", "count", "lack", "tally"), on="key", how="left")
            .with_columns(pl.col("count", "lack").fill_null(0))
            .select(*LEDGER_SCHEMA)
        )

    def mark_taints(self, found: Iterable[tuple[int, BadRow]]) -> None:
        """Rows that rejected input rows could have evidenced (`found`: key and row, in the order found)."""
        keys = set()
        for key, row in found:
            self.taints.setdefault(key, []).append(row)
            keys.add(key)
        if keys:
            self.table = self.table.with_columns(pl.col("taint") | pl.col("key").is_in(list(keys)))

    # -- waivers -----------------------------------------------------------------------------------------

    def apply_waivers(self, waivers: Sequence[LoadedWaiver], as_of: dt.date, layer: int = 0) -> None:
        """Attach to each row of `layer` with a judged window the waiver that covers it: an unexpired one if any,
        else an expired one (which has no effect but is reported); the first in `waivers` order of each."""
        if not waivers:
            return
        self.waivers = list(waivers)
        table = self.table
        in_layer = pl.col("layer") == layer
        starts = pl.Series([p.start for p in self.periods.items], dtype=pl.Date)
        ends = pl.Series([p.end for p in self.periods.items], dtype=pl.Date)
        window = table.get_column("window")
        org_ids = pl.Series([o.id for o in self.orgs], dtype=pl.String).gather(table.get_column("org"))
        table = table.with_columns(
            starts.gather(window).alias("_start"), ends.gather(window).alias("_end"), org_ids.alias("_org")
        )
        for number, loaded in enumerate(waivers):
            w = loaded.waiver
            rules = [i for i, rule in self.rules.items() if rule.rule.id == w.rule]
            if not rules:
                continue
            covers = in_layer & pl.col("rule").is_in(rules) & pl.col("window").is_not_null()
            for name, value in (("_org", w.org), ("sid", w.subject), ("second", w.second), ("portfolio", w.portfolio)):
                if value is not None:
                    covers &= pl.col(name).fill_null("\x00none") == value
            covers &= (pl.col("_start") <= w.to) & (pl.col("_end") >= w.from_)
            expired = as_of > w.expires
            take = covers & (pl.col("waiver").is_null() | (pl.col("expired") & pl.lit(not expired)))
            table = table.with_columns(
                pl.when(take).then(pl.lit(number, pl.UInt32)).otherwise(pl.col("waiver")).alias("waiver"),
                pl.when(take).then(pl.lit(expired)).otherwise(pl.col("expired")).alias("expired"),
            )
        self.table = table.drop("_start", "_end", "_org")

    def used_waivers(self) -> set[str]:
        """The ids of the waivers that cover some row (expired or not)."""
        used = self.table.get_column("waiver").drop_nulls().unique().to_list()
        return {self.waivers[i].waiver.id for i in used}

    # -- order and decisions -----------------------------------------------------------------------------

    def order(self) -> None:
        """Put the rows in report order (:meth:`ordered`), a column at a time: each column let go once its sorted
        copy is made, so that the table is not held twice."""
        at = self._report_order(self.table)
        columns = self.table.get_columns()
        self.table = self.table.clear()
        columns.reverse()
        ordered = []
        while columns:
            ordered.append(columns.pop().gather(at))
        self.table = pl.DataFrame(ordered)
        self._ordered = True

    def ordered(self, rows: pl.DataFrame) -> pl.DataFrame:
        """`rows` (of the table) in report order: by organisation id, then layer, then rule id, subject id, second
        person, portfolio area, trigger record and the start of the period (no two obligations share all of
        these)."""
        return rows[self._report_order(rows)]

    def _report_order(self, rows: pl.DataFrame) -> pl.Series:
        """The positions of `rows` (of the table) in report order (:meth:`ordered`)."""
        orgs = self.orgs
        org_rank = pl.Series(_ranks([o.id for o in orgs]), dtype=pl.UInt32)  # (numbers sort faster than texts)
        top = max(self.rules, default=-1) + 1
        rule_rank = pl.Series(
            _ranks([self.rules[i].rule.id if i in self.rules else "" for i in range(top)]), dtype=pl.UInt32
        )
        starts = pl.Series([p.start for p in self.periods.items], dtype=pl.Date)
        keys = pl.DataFrame(
            {
                "o": org_rank.gather(rows.get_column("org")),
                "l": rows.get_column("layer"),
                "r": rule_rank.gather(rows.get_column("rule")),
                "s": rows.get_column("sid"),
                "x": rows.get_column("second").fill_null(""),
                "p": rows.get_column("portfolio").fill_null(""),
                "t": rows.get_column("trigger").fill_null(""),
                "d": starts.gather(rows.get_column("period")),
            }
        )
        return keys.with_row_index("_i").sort("o", "l", "r", "s", "x", "p", "t", "d").get_column("_i")

    def set_decisions(self, decisions: Sequence[Decision], start: int = 0) -> None:
        """The decision of each row from position `start` of the table on (in table order)."""
        codes = {id(d): i for i, d in enumerate(self.decisions)}
        numbers = []
        for d in decisions:
            code = codes.get(id(d))
            if code is None:
                code = codes[id(d)] = len(self.decisions)
                self.decisions.append(d)
            numbers.append(code)
        column = self.table.get_column("decision")
        if start:
            column = column.slice(0, start).append(pl.Series(numbers, dtype=pl.UInt32))
        else:
            column = pl.Series(numbers, dtype=pl.UInt32)
        self.table = self.table.with_columns(column.alias("decision"))

    def summary(self) -> dict[str, int]:
        """The number of rows per decided status value."""
        counts = self.table.get_column("decision").value_counts()
        out: dict[str, int] = {}
        for code, n in counts.iter_rows():
            status = self.decisions[code].status.value
            out[status] = out.get(status, 0) + n
        return out

    # -- objects -----------------------------------------------------------------------------------------

    def fill(self, lists: dict[int, Lists]) -> None:
        """The tally's evidence and rejected candidates by tally number (:meth:`rules_engine.tally.Tallied.fill`):
        onto the objects made so far and those made from now on."""
        self.evidence, self.filled = lists, True
        for ob in self.objects.values():
            if ob.row >= 0:
                found = lists.get(ob.row)
                if found is not None:
                    ob.evidence, ob.rejected = found

    def obligation(self, key: int) -> Obligation:
        """The row of `key` as an object (every row is made into one the first time one is asked for)."""
        ob = self.objects.get(key)
        if ob is None:
            self.obligations()
            ob = self.objects[key]
        return ob

    def obligations(self, rows: pl.DataFrame | None = None, keep: bool = True) -> list[Obligation]:
        """The rows (all, in table order, or `rows` of the table) as objects, with their tally and waiver; made
        once per row (kept, unless not `keep`), or the object the row was added as."""
        rows = self.table if rows is None else rows
        orgs, periods, rules, objects = self.orgs, self.periods.items, self.rules, self.objects
        taints, waivers, evidence = self.taints, self.waivers, self.evidence
        planned = [rows.get_column(name).to_list() for name in (*PLAN_SCHEMA, "trigger")]
        names = ("key", "count", "tally", "waiver", "expired", "evidence")
        verdicts = [rows.get_column(name).to_list() for name in names]
        out = []
        for fields, key, count, tally, waiver, expired, listed in zip(
            zip(*planned, strict=True), *verdicts, strict=True
        ):
            ob = objects.get(key)
            if ob is None:
                ob = obligation_of(rules, orgs, periods, fields)
                if keep:
                    objects[key] = ob
            ob.count = count
            ob.taint = taints.get(key)
            if self.lacking:
                ob.lacking = self.lacking.get(key)
            if waiver is not None:
                ob.waiver, ob.waiver_expired = waivers[waiver], expired
            if listed is not None:  # (an escalation's)
                ob.evidence = orjson.loads(listed)
            if tally is not None:
                ob.row = tally
                found = evidence.get(tally)
                if found is not None:
                    ob.evidence, ob.rejected = found
            out.append(ob)
        return out

    def decided(self) -> Iterator[tuple[Obligation, Decision]]:
        """Each row as an object with its decision, in table order."""
        decisions = self.decisions
        codes = self.table.get_column("decision").to_list()
        yield from zip(self.obligations(), (decisions[c] for c in codes), strict=True)


def _ranks(values: Sequence[str]) -> list[int]:
    """Each value's place among the values sorted (equal values share it)."""
    order = sorted(set(values))
    place = {v: i for i, v in enumerate(order)}
    return [place[v] for v in values]


def fact_frame(table: pl.DataFrame, day: dt.date, periods: Sequence[Period]) -> pl.DataFrame:
    """Each row's fact for the decide stage (:data:`rules_engine.compile.OBLIGATION_FIELDS` after the rule
    index): the count, the most it could be (the count and the candidates set aside for lacking a field a filter
    reads), then 0/1 flags: due (its judged window ended before `day`), taint, not applicable (a
    reason, or no judged window), roster gap, waived (by a waiver not expired)."""
    ends = pl.Series([p.end for p in periods], dtype=pl.Date)
    window_end = ends.gather(table.get_column("window"))
    flag = pl.UInt8
    return pl.DataFrame(
        {
            "r": table.get_column("rule"),
            "n": table.get_column("count"),
            "most": table.get_column("count") + table.get_column("lack"),
            "due": (window_end.is_not_null() & (window_end < day)).cast(flag),
            "taint": table.get_column("taint").cast(flag),
            "na": ((table.get_column("na") != "") | table.get_column("window").is_null()).cast(flag),
            "unk": (table.get_column("unk") != "").cast(flag),
            "wv": (table.get_column("waiver").is_not_null() & ~table.get_column("expired")).cast(flag),
        }
    )


def decide_rows(facts: pl.DataFrame, decide: Callable[[Sequence[tuple[int, ...]]], list[Decision]]) -> list[Decision]:
    """The decision of each fact row (`facts`, as :func:`fact_frame` makes them): each distinct row decided once
    by `decide` (:meth:`rules_engine.engine.decide.Decider.decide`)."""
    number = facts.select((pl.struct(pl.all()).rank("dense") - 1).alias("_d")).to_series()  # equal rows, one number
    distinct = facts.with_columns(number).unique(subset="_d").sort("_d")
    decisions = decide(distinct.drop("_d").rows())
    return [decisions[i] for i in number.to_list()]
