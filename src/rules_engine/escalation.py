"""Escalation: rules over findings. A team member who violated duties in two portfolio areas, or a
committee whose secretary and half of its team violated theirs, raises a higher-severity finding with
the lower findings as evidence.

The escalation is decided on durable_rules, by the rule's own decision table (``compile._lower_escalation``,
lowered from its ``escalate`` spec): each subject (the organisation, or a person) is one fact that carries
its lower findings summed up (:data:`rules_engine.compile.ESCALATION_FIELDS`): durable_rules has no
aggregates, and a fact may only be compared with constants (never with another fact, trap 1), so what is
counted is counted here: distinct findings, areas, rules or people with a counted status (and with pending
or undeterminable ones counted too), the secretary's findings among them, and for a ``raise_share`` how many
more people the share of the team needs. The engine compares these with the rule's thresholds and takes the
status (raised, pending, undeterminable, not raised; waived); each distinct fact row is decided once
(:func:`rules_engine.ledger.decide_rows` of :func:`fact_frame`). Escalation rules may read other escalation
rules; they are evaluated layer by layer, and cycles are refused when the rules are loaded.

The counting is columns (polars) over the ledger's decided rows: group-bys per organisation, or per organisation
and person, of the lower findings a rule reads; no object per lower finding or per subject. The layer's
obligations are rows (:data:`RAISED_SCHEMA`) the ledger adds as they are (:meth:`rules_engine.ledger.Ledger.add_rows`),
their evidence (the labels of the lower findings counted, JSON) a column the finding writer reads. Python is left
where the work is per organisation and rule, not per finding: which variant of a rule governs an organisation,
and whether it is retired there or covers its kind (as the plan decides it), and a pass over the holders of the
organisations with a person rule or a share of the team. tests/escalation_reference.py keeps the object code this
replaced; tests/test_escalation_columns.py compares the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from .compile import ESCALATION_FIELDS, CompiledRule, CompiledRules
from .jsontext import escaped_column
from .ledger import Ledger
from .model.findings import Status
from .model.rules import SubjectKind, share_fraction
from .model.vocab import Vocabulary
from .periods import Period
from .plan import PLAN_SCHEMA, RosterIndex, clip_window


def layers(compiled: CompiledRules) -> list[list[CompiledRule]]:
    """Escalation rules in dependency order: each layer reads only base rules and earlier layers."""
    pending = [r for r in compiled.rules if r.rule.escalate is not None]
    ids = {r.rule.id for r in pending}
    done: set[str] = set()
    out: list[list[CompiledRule]] = []
    while pending:
        ready = [r for r in pending if all(dep not in ids or dep in done for dep in _reads(r))]
        if not ready:  # a cycle: refused at load time, so this is a bug if it happens
            raise ValueError("escalation rules form a cycle: " + ", ".join(sorted(r.rule.id for r in pending)))
        out.append(ready)
        done |= {r.rule.id for r in ready}
        pending = [r for r in pending if r.rule.id not in done]
    return out


def _reads(rule: CompiledRule) -> list[str]:
    return rule.rule.escalate.rules if rule.rule.escalate is not None else []


COUNTS = ESCALATION_FIELDS[3:]  # the fact's counts (k ... gapu): columns of plan_layer's rows
RAISED_SCHEMA: dict[str, pl.DataType] = {
    **PLAN_SCHEMA,
    "count": pl.Int64(),
    "evidence": pl.String(),
    **{name: pl.Int64() for name in COUNTS},
}
_PEOPLE_KINDS = ["person", "portfolio", "pair"]  # the subject kinds counted as people
_SUBJECTS = {
    "at": pl.UInt32,
    "spec": pl.UInt32,
    "org": pl.UInt32,
    "sid": pl.String,
    "name": pl.String,
    "role": pl.String,
    "window": pl.UInt32,
    "na": pl.String,
    "live": pl.Boolean,
}


def plan_layer(
    rules: Sequence[CompiledRule],
    ledger: Ledger,
    index: RosterIndex,
    period: Period,
    compiled: CompiledRules,
    max_evidence: int = 20,
) -> pl.DataFrame:
    """The escalation obligations of one layer of rules over the decided rows of `ledger`, as rows
    (:data:`RAISED_SCHEMA`: the plan's columns; the ``count``; the ``evidence``, the JSON list a finding holds,
    null for none; the fact's counts, :data:`COUNTS`): for each organisation that has rows, in order of
    organisation id, in the order of `rules` (not sorted), a person rule's subjects in roster order.

    Which variant of a rule governs an organisation, and whether it is retired there or covers its kind, is
    decided per organisation and rule in Python, as the plan does; the rest is columns: a person rule's subjects
    are the holders of its roles in the period, and each subject's lower findings are summed up by group-bys
    over the decided rows (:func:`_counted`)."""
    specs = [_Spec(rule, compiled, period, index.vocabulary) for rule in rules]
    subjects, posts = _subjects(specs, ledger, index, period, compiled)
    live = subjects.filter(pl.col("live"))
    lower = _lower(specs, ledger)
    names = [d.name for d in ledger.decisions]
    zero = pl.lit(0, pl.Int64)
    parts = [subjects.filter(~pl.col("live")).with_columns(*(zero.alias(n) for n in COUNTS), evidence=pl.lit(None))]
    for number, spec in enumerate(specs):
        mine = live.filter(pl.col("spec") == number)
        if mine.height:
            parts.append(_counted(spec, mine, lower, names, posts, max_evidence))
    people = [n for n, s in enumerate(specs) if not s.organisation]
    raised = (
        pl.concat([part.select(*_SUBJECTS, "h", *COUNTS, "evidence") for part in parts], how="vertical_relaxed")
        .sort("at", "h")
        .with_columns(
            pl.col("spec").replace_strict(range(len(specs)), [s.rule.index for s in specs]).alias("rule"),
            kind=pl.when(pl.col("live") & pl.col("spec").is_in(people))
            .then(pl.lit("person"))
            .otherwise(pl.lit("organisation")),
            period=pl.lit(ledger.periods.code(period)),
            unk=pl.lit(""),
            count=pl.col("k"),
        )
    )
    return raised.select(
        (pl.col(name) if name in raised.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in RAISED_SCHEMA.items()
    )


def fact_frame(raised: pl.DataFrame, added: pl.DataFrame) -> pl.DataFrame:
    """The escalations' facts for the decide stage (:func:`rules_engine.ledger.decide_rows`): the rule index, then
    :data:`rules_engine.compile.ESCALATION_FIELDS`: 0/1 flags not applicable (a reason, or no judged window),
    roster gap and waived (by a waiver not expired), then the counts. `raised`: rows of :func:`plan_layer`;
    `added`: the same rows as the ledger holds them (in the same order), their waivers applied."""
    flag = pl.UInt8
    return pl.DataFrame(
        {
            "r": added.get_column("rule"),
            "na": ((added.get_column("na") != "") | added.get_column("window").is_null()).cast(flag),
            "unk": (added.get_column("unk") != "").cast(flag),
            "wv": (added.get_column("waiver").is_not_null() & ~added.get_column("expired")).cast(flag),
            **{name: raised.get_column(name) for name in COUNTS},
        }
    )


class _Spec:
    """What one escalation rule needs to sum up lower findings, worked out once per layer."""

    def __init__(self, rule: CompiledRule, compiled: CompiledRules, period: Period, vocabulary: Vocabulary) -> None:
        esc = rule.rule.escalate
        assert esc is not None
        self.rule, self.esc = rule, esc
        self.reads = sorted(r.index for r in compiled.rules if r.rule.id in esc.rules)
        wanted = {Status(s) for s in esc.status}
        # each decision whose status counts, by how: one of the rule's statuses (0), else pending (1), else
        # undeterminable (2); the three levels of compile.ESCALATION_FIELDS count 0, 0 and 1, 0 and 2
        self.categories: dict[str, int] = {}
        for d in compiled.decisions:
            category = _category(d.status, wanted)
            if category is not None:
                if self.categories.get(d.name, category) != category:
                    raise ValueError(f"two decisions named {d.name!r} with different statuses")
                self.categories[d.name] = category
        self.roles = sorted(esc.roles)
        # the secretary's (the head's: a role flagged head) own findings are part of why it was raised; when the
        # head's role is counted (or every role is), they are among the findings counted already
        self.heads = sorted(vocabulary.heads)
        self.secretary_too = esc.with_secretary and bool(self.roles) and not vocabulary.heads & set(self.roles)
        self.team_roles = self.roles or list(vocabulary.team)
        self.share = share_fraction(esc.raise_share) if esc.raise_share is not None else None
        self.judged, self.why = clip_window(rule, period, None)
        self.organisation = rule.rule.subject is SubjectKind.organisation
        self.keys = ["org"] if self.organisation else ["org", "sid"]  # a subject's lower findings: those sharing these


def _subjects(
    specs: Sequence[_Spec], ledger: Ledger, index: RosterIndex, period: Period, compiled: CompiledRules
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The subjects of the escalation obligations (columns :data:`_SUBJECTS`): ``spec`` (its rule's number in
    `specs`), the subject (``sid``, ``name``, ``role``), ``window`` and ``na`` (its judged window and why none),
    ``live`` (whether its lower findings are counted: not for a rule retired or not covering the organisation's
    kind) and ``at`` (the order of the rows: by organisation id, then rule; a person rule's holders in roster
    order, by ``h``); and the posts (:func:`_posts`) of the organisations of those that count holders (a person
    rule, a share of the team)."""
    orgs, periods = ledger.orgs, ledger.periods
    codes = sorted(ledger.table.get_column("org").unique().to_list(), key=lambda c: orgs[c].id)
    judged = [None if spec.judged is None else periods.code(spec.judged) for spec in specs]
    variants = {spec.rule.rule.id: compiled.variants(spec.rule.rule.id) for spec in specs}
    rows: list[tuple[Any, ...]] = []  # the organisation's own (and those of rules that do not apply to it)
    places: list[tuple[int, int, int]] = []  # (at, org, spec): a person rule's holders go here
    teams: set[int] = set()  # organisations with a rule that counts a share of the team
    for code in codes:
        org = orgs[code]
        for number, spec in enumerate(specs):
            rule = spec.rule
            if not index.applies(rule, org.id, variants[rule.rule.id]):
                continue
            if org.kind not in rule.rule.org_kinds and index.vocabulary.outside(org.kind, rule.rule.org_kinds):
                continue  # (a kind of another pack's vocabulary: the rule is silent on it)
            at = len(rows) + len(places)
            if rule.retired_by is not None:
                rows.append((at, number, code, org.id, org.name, None, None, "retired", False))
            elif org.kind not in rule.rule.org_kinds:
                rows.append((at, number, code, org.id, org.name, None, None, "kind_not_covered", False))
            elif spec.organisation:
                rows.append((at, number, code, org.id, org.name, None, judged[number], spec.why, True))
            else:
                places.append((at, code, number))
            if spec.share is not None:
                teams.add(code)
    own = pl.DataFrame(rows, schema=_SUBJECTS, orient="row").with_columns(pl.lit(0, pl.UInt32).alias("h"))
    posts = _posts(ledger, index, period, sorted(teams | {code for _, code, _ in places}))
    if not places:
        return own, posts
    roles = pl.DataFrame(
        [(number, role) for number, spec in enumerate(specs) for role in spec.rule.rule.roles],
        schema={"spec": pl.UInt32, "role": pl.String},
        orient="row",
    )
    by_spec = pl.DataFrame(
        {"spec": range(len(specs)), "window": judged, "na": [spec.why for spec in specs]},
        schema={"spec": pl.UInt32, "window": pl.UInt32, "na": pl.String},
    )
    # the holders of a post in one of the rule's roles in the period, by person (in the order of their first such
    # post), the role of their last one
    people = (
        pl.DataFrame(places, schema={"at": pl.UInt32, "org": pl.UInt32, "spec": pl.UInt32}, orient="row")
        .join(roles, on="spec")
        .join(posts, on=["org", "role"])
        .sort("at", "h")
        .group_by("at", "person", maintain_order=True)
        .agg(pl.col("spec", "org", "pname", "h").first(), pl.col("role").last())
        .join(by_spec, on="spec")
        .select(
            "at",
            "spec",
            "org",
            sid="person",
            name="pname",
            role="role",
            window="window",
            na="na",
            live=pl.lit(True),
            h="h",
        )
    )
    return pl.concat([own, people], how="vertical_relaxed").sort("at", "h"), posts


def _posts(ledger: Ledger, index: RosterIndex, period: Period, codes: Sequence[int]) -> pl.DataFrame:
    """The posts of the organisations numbered `codes` that overlap `period`: ``org``, ``h`` (the post's place in
    its organisation's holder order: post start, then person), ``person``, ``pname``, ``role``."""
    orgs, holders = ledger.orgs, index.holders
    start, end = period.start, period.end
    posts = [
        (code, h, holder)
        for code in codes
        for h, holder in enumerate(holders.get(orgs[code].id, ()))
        if holder.post.start <= end and (holder.post.end is None or holder.post.end >= start)
    ]
    return pl.DataFrame(
        {
            "org": [p[0] for p in posts],
            "h": [p[1] for p in posts],
            "person": [p[2].person.id for p in posts],
            "pname": [p[2].person.name for p in posts],
            "role": [p[2].post.role for p in posts],
        },
        schema={"org": pl.UInt32, "h": pl.UInt32, "person": pl.String, "pname": pl.String, "role": pl.String},
    )


def _lower(specs: Sequence[_Spec], ledger: Ledger) -> pl.DataFrame:
    """The decided rows some rule of `specs` reads, with a status one of them counts, in report order (``pos``),
    each with the name its escalations give it in their evidence (``label``, JSON-escaped: rule/subject/
    [second/][portfolio/]period) and its rule's id (``rule_id``)."""
    counted = {name for spec in specs for name in spec.categories}
    codes = [i for i, d in enumerate(ledger.decisions) if d.name in counted]
    read = sorted({r for spec in specs for r in spec.reads})
    table = ledger.table
    needed = ("org", "layer", "rule", "kind", "sid", "role", "portfolio", "second", "trigger", "period", "decision")
    lower = table.lazy().filter(pl.col("decision").is_in(codes) & pl.col("rule").is_in(read)).select(needed).collect()
    lower = ledger.ordered(lower)  # (only the columns read here and by the report order are filtered and sorted)
    rules = ledger.rules
    ids = pl.Series([rules[i].loaded.rule.id if i in rules else "" for i in range(max(rules, default=-1) + 1)])
    labels = pl.Series([p.label for p in ledger.periods.items], dtype=pl.String)

    def part(name: str) -> pl.Expr:
        truthy = pl.col(name).is_not_null() & (pl.col(name) != "")
        return pl.when(truthy).then(pl.concat_str(pl.col(name), pl.lit("/"))).otherwise(pl.lit(""))

    lower = lower.with_columns(
        ids.gather(lower.get_column("rule")).alias("rule_id"), labels.gather(lower.get_column("period")).alias("_p")
    )
    label = pl.concat_str(
        pl.col("rule_id"), pl.lit("/"), pl.col("sid"), pl.lit("/"), part("second"), part("portfolio"), pl.col("_p")
    )
    lower = lower.select(
        "org", "rule", "rule_id", "kind", "sid", "role", "portfolio", "decision", label.alias("label")
    ).with_row_index("pos")
    return lower.with_columns(escaped_column(lower.get_column("label")).alias("label"))


def _counted(
    spec: _Spec, subjects: pl.DataFrame, lower: pl.DataFrame, names: Sequence[str], posts: pl.DataFrame, most: int
) -> pl.DataFrame:
    """The subjects of one rule (those it applies to) with their lower findings summed up (the columns
    :data:`COUNTS`) and their ``evidence``. For each level (the rule's statuses; with pending too; with
    undeterminable too): the count (findings, or distinct portfolio areas, rules or people, among the findings
    with a counted status about one of the roles), how many findings with a counted status are about a secretary,
    and how many more people the share of the team needs (0: reached; 1 when there is no team: never reached; 0
    without a share). The evidence: the labels of the findings counted at the first level in report order, then
    (when the secretary is needed but not counted) the secretary's, at most `most` of them. `names`: the name of
    each decision of the ledger, by number."""
    keys = spec.keys
    category = [spec.categories.get(name) for name in names]
    mine = lower.filter(pl.col("rule").is_in(spec.reads)).with_columns(
        pl.col("decision").replace_strict(range(len(names)), category, default=None, return_dtype=pl.Int8).alias("c")
    )
    mine = mine.filter(pl.col("c").is_not_null())
    c = pl.col("c")
    secretary = pl.col("role").is_in(spec.heads).fill_null(False)
    counted = pl.col("role").is_in(spec.roles).fill_null(False) if spec.roles else pl.lit(True)
    mine = mine.with_columns(secretary.alias("s"), counted.alias("n"))
    s, n = pl.col("s"), pl.col("n")
    sums = mine.group_by(keys).agg(
        *((s & (c == level)).sum().cast(pl.Int64).alias(f"s{level}") for level in range(3)),
        *((n & (c == level)).sum().cast(pl.Int64).alias(f"f{level}") for level in range(3)),
    )
    how = spec.esc.count
    if how == "findings":
        found = sums.select(*keys, k="f0", kp=pl.col("f0") + pl.col("f1"), ku=pl.col("f0") + pl.col("f2"))
    else:
        key: pl.Expr
        if how == "portfolios":
            key = pl.when(pl.col("portfolio").is_not_null() & (pl.col("portfolio") != "")).then(pl.col("portfolio"))
        elif how == "rules":
            key = pl.col("rule_id")
        else:  # people
            key = pl.when(pl.col("kind").is_in(_PEOPLE_KINDS)).then(pl.col("sid"))
        has = [pl.col(f"h{level}") for level in range(3)]
        found = (
            mine.filter(n)
            .with_columns(key.alias("_key"))
            .filter(pl.col("_key").is_not_null())
            .group_by(*keys, "_key")
            .agg(*((c == level).any().alias(f"h{level}") for level in range(3)))
            .group_by(keys)
            .agg(
                k=has[0].sum().cast(pl.Int64),
                kp=(has[0] | has[1]).sum().cast(pl.Int64),
                ku=(has[0] | has[2]).sum().cast(pl.Int64),
            )
        )
    zero = pl.lit(0, pl.Int64)
    out = (
        subjects.join(sums.select(*keys, "s0", "s1", "s2"), on=keys, how="left")
        .join(found, on=keys, how="left")
        .with_columns(pl.col("k", "kp", "ku", "s0", "s1", "s2").fill_null(0))
        .with_columns(sec="s0", secp=pl.col("s0") + pl.col("s1"), secu=pl.col("s0") + pl.col("s2"))
    )
    if spec.share is None:
        out = out.with_columns(gap=zero, gapp=zero, gapu=zero)
    else:
        share = spec.share
        team = (
            posts.filter(pl.col("role").is_in(spec.team_roles))
            .group_by("org")
            .agg(pl.col("person").n_unique().cast(pl.Int64).alias("team"))
        )
        # the fewest people that reach the share of the team: ceil(share * team); null without a team
        need = pl.when(pl.col("team") > 0).then(
            (pl.col("team") * share.numerator + share.denominator - 1) // share.denominator
        )
        out = (
            out.join(team, on="org", how="left")
            .with_columns(need.alias("_need"))
            .with_columns(
                *(
                    pl.when(pl.col("_need").is_null())
                    .then(pl.lit(1, pl.Int64))
                    .otherwise(pl.max_horizontal(zero, pl.col("_need") - pl.col(k)))
                    .alias(gap)
                    for k, gap in (("k", "gap"), ("kp", "gapp"), ("ku", "gapu"))
                )
            )
        )
    if most <= 0:
        return out.with_columns(pl.lit(None, pl.String).alias("evidence"))
    shown = c == 0
    shown &= (n | s) if spec.secretary_too else n
    evidence = (
        mine.filter(shown)
        .sort(~n, "pos")  # the counted ones first, then the secretary's (in report order each)
        .group_by(keys, maintain_order=True)
        .agg(pl.col("label").head(most).str.join('","').alias("evidence"))
        .with_columns(pl.concat_str(pl.lit('["'), pl.col("evidence"), pl.lit('"]')).alias("evidence"))
    )
    return out.join(evidence, on=keys, how="left")


def _category(status: Status, wanted: set[Status]) -> int | None:
    """How a lower finding's status counts (see _Spec.categories), or None: not at all."""
    if status in wanted:
        return 0
    if status is Status.pending:
        return 1
    if status is Status.undeterminable:
        return 2
    return None
