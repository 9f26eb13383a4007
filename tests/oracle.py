"""The oracle of the differential test: a deliberately plain evaluator of the same rule semantics, loops over
subjects, windows and records, no durable_rules, no indexes, no streaming (the benchmark prints how much
slower it is); it is not part of the product.

It shares only the compiled parameters, the period arithmetic and the decision table with the real pipeline;
subjects, windows, record filters and counting are written again here, as simply as possible, from the rule
format's documentation. The status of a fact is read from the decision table with its plain interpreter
(``compile.decide``): the table is the one place that states what a status means, and it is checked against
rule-format.md §5, written out, in tests/test_decision_table.py.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from rules_engine.compile import CompiledRule, CompiledRules, decide
from rules_engine.model.findings import Finding
from rules_engine.model.roster import Roster
from rules_engine.model.rules import Match, SubjectKind
from rules_engine.periods import Period, month_day

Key = tuple[str, str, str, str, str, str, str, str]  # org, rule, kind, subject, second, portfolio, period, window
Outcome = tuple[str, int]  # status, count


BUILTIN = {"id", "org", "type", "date", "chair", "participants", "portfolio", "tags", "text"}


def _typed(kind: str, value: Any) -> tuple[bool, Any]:
    """A declared field's value as the oracle reads it: (False, None) when it is not of the type, (True, None)
    when empty (the record lacks the field)."""
    if value is None or value == "" or value == []:
        return True, None
    if kind in ("person", "tag", "text"):
        return isinstance(value, str), value
    if kind == "people":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return ok, set(value) if ok else None
    if kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, value
    if kind == "boolean":
        return isinstance(value, bool), value
    if kind == "date":
        try:
            return True, dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            return False, None
    raise AssertionError(kind)


def _valid(
    record: Mapping[str, Any], orgs: set[str], types: set[str], declared: Mapping[str, str] | None = None
) -> dict[str, Any] | None:
    """The record as plain values, or None when it is not usable (the pipeline rejects such rows)."""
    try:
        day = dt.date.fromisoformat(record["date"])
    except (KeyError, TypeError, ValueError):
        return None
    if record.get("org") not in orgs or record.get("type") not in types or not record.get("id"):
        return None
    extra: dict[str, Any] = {}
    for key, value in record.items():
        if key in BUILTIN:
            continue
        kind = (declared or {}).get(key)
        if kind is None:
            return None
        ok, typed = _typed(kind, value)
        if not ok:
            return None
        if typed is not None:
            extra[key] = typed
    people = set(record.get("participants") or [])
    if record.get("chair"):
        people.add(record["chair"])
    return {**record, **extra, "date": day, "people": people, "tags": set(record.get("tags") or []), "declared": extra}


def reference_evaluate(
    compiled: CompiledRules, roster: Roster, records: Iterable[Mapping[str, Any]], period: Period, as_of: dt.date
) -> dict[Key, Outcome]:
    """Every finding as key -> (status, count)."""
    orgs = {o.id: o for o in roster.organisations}
    types = set(compiled.ruleset.record_types())
    good: list[dict[str, Any]] = []
    bad: list[Mapping[str, Any]] = []
    first: dict[str, dict[str, Any]] = {}
    fields = ("org", "type", "date", "chair", "people", "portfolio", "tags", "declared")
    declared = dict(compiled.fields.types)
    for record in records:
        valid = _valid(record, set(orgs), types, declared)
        if valid is None:
            bad.append(record)
        elif valid["date"] > as_of:
            continue  # not there yet on the evaluation date: not evidence, and no id taken
        elif valid["id"] not in first:
            first[valid["id"]] = valid
            good.append(valid)
        elif any(first[valid["id"]].get(f) != valid.get(f) for f in fields):
            bad.append(record)  # the same id with other content: not used, and it casts doubt
    posts = [(person, post) for person in roster.people for post in person.posts]
    known = frozenset(p.id for p in roster.people)
    out: dict[Key, Outcome] = {}
    for org in orgs.values():
        team_posts = [(person, post) for person, post in posts if post.org == org.id]
        mine = [r for r in good if r["org"] == org.id]
        for rule in compiled.rules:
            spec = rule.rule
            if spec.escalate is not None or rule.scope is not None:
                continue  # rules over findings, and overlays, are outside this oracle (see their own tests)
            if org.kind not in spec.org_kinds:
                if _other_vocabulary(compiled, org.kind, spec.org_kinds):
                    continue  # a kind another pack declares: the rule says nothing of it
                out[(org.id, spec.id, "organisation", org.id, "", "", period.label, "")] = ("not_applicable", 0)
                continue
            if spec.subject is SubjectKind.trigger:
                _triggers(compiled, rule, org.id, mine, bad, period, as_of, types, out)
                continue
            assert rule.params.period is not None
            for window in period.windows(rule.params.period):
                for kind, subject, second, area, term in _subjects(rule, team_posts, window):
                    subject = subject or org.id
                    key = (org.id, spec.id, kind, subject, second, area, window.label, "")
                    if kind == "role":  # nobody in the role: undeterminable, unless the rule does not apply
                        applies = isinstance(_judged(rule, window, None), Period)
                        out[key] = ("undeterminable" if applies else "not_applicable", 0)
                        continue
                    if isinstance(term, tuple) and term[0] == "no_portfolio":
                        judged = _judged(rule, window, term[1])
                        if judged != "skip":
                            out[key] = ("undeterminable" if isinstance(judged, Period) else "not_applicable", 0)
                        continue
                    judged = _judged(rule, window, term)
                    if judged == "skip":
                        continue
                    if not isinstance(judged, Period):
                        out[key] = ("not_applicable", 0)
                        continue
                    count, doubt, lacking = _count(
                        rule, rule.match, mine, judged, subject, second, area, team_posts, kind, known
                    )
                    tainted = doubt or _tainted(rule, org.id, window, bad, types, as_of)
                    out[key] = (_status(compiled, rule, count, as_of > judged.end, tainted, lacking), count)
    return out


def _other_vocabulary(compiled: CompiledRules, kind: str, kinds: list[str]) -> bool:
    """Whether the pack declaring `kind` declares none of `kinds` (then a rule says nothing of the organisation)."""
    vocabulary = compiled.ruleset.vocabulary
    own = vocabulary.kind(kind)
    return own is not None and own.pack not in {t.pack for t in map(vocabulary.kind, kinds) if t is not None}


def _span(posts: list[Any]) -> tuple[dt.date, dt.date | None]:
    ends = [p.end for p in posts]
    return min(p.start for p in posts), None if None in ends else max(ends)


def _subjects(rule: CompiledRule, team: list[Any], window: Period) -> list[tuple[str, str, str, str, Any]]:
    """(kind, subject, second, portfolio, term) for each subject; term "no_portfolio" or None (role gap)."""
    spec = rule.rule

    def overlaps(post: Any) -> bool:
        return post.start <= window.end and (post.end is None or post.end >= window.start)

    def by_person(roles: list[Any]) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {}
        for person, post in team:
            if post.role in roles and overlaps(post):
                found.setdefault(person.id, []).append(post)
        return found

    if spec.subject is SubjectKind.organisation:
        return [("organisation", "", "", "", None)]
    roles = spec.roles if spec.pair is None else spec.pair.first
    firsts = by_person(roles)
    if not firsts:
        return [("role", "/".join(roles), "", "", None)]
    found: list[tuple[str, str, str, str, Any]] = []
    if spec.subject is SubjectKind.person:
        return [("person", pid, "", "", _span(posts)) for pid, posts in firsts.items()]
    if spec.subject is SubjectKind.portfolio:
        for pid, posts in firsts.items():
            areas: list[str] = []
            for post in posts:
                areas += [a for a in post.portfolios if a not in areas]
            if not areas:
                found.append(("portfolio", pid, "", "", ("no_portfolio", _span(posts))))
            for area in areas:
                found.append(("portfolio", pid, "", area, _span([p for p in posts if area in p.portfolios])))
        return found
    assert spec.pair is not None
    seconds = by_person(spec.pair.second)
    done: set[tuple[str, str]] = set()
    for a, pa in firsts.items():
        for b, pb in seconds.items():
            pair = (a, b) if spec.pair.ordered else (min(a, b), max(a, b))
            if a == b or pair in done:
                continue
            done.add(pair)
            (sa, ea), (sb, eb) = _span(pa), _span(pb)
            start = max(sa, sb)
            ends = [e for e in (ea, eb) if e is not None]
            end = min(ends) if ends else None
            if end is None or end >= start:
                found.append(("pair", pair[0], pair[1], "", (start, end)))
    return found


def _judged(rule: CompiledRule, window: Period, term: Any) -> Period | str | None:
    """The judged part of the window; None: not applicable; "skip": the subject was not in post in it."""
    start, end = window.start, window.end
    start = max(start, rule.effective.from_)
    if rule.effective.to is not None:
        end = min(end, rule.effective.to)
    deadline = rule.params.window
    if deadline is not None:
        if deadline.from_:
            start = max(start, month_day(window.start.year, deadline.from_))
        if deadline.to:
            end = min(end, month_day(window.start.year, deadline.to))
    if start > end:
        return None
    if term is not None:
        available = (end - start).days + 1
        start = max(start, term[0])
        if term[1] is not None:
            end = min(end, term[1])
        if start > end:
            return "skip"
        days = (end - start).days + 1
        if days < (rule.params.min_days_in_post or 0) and days < available:
            return None
    return Period(start, end)


def _count(
    rule: CompiledRule,
    match: Match,
    records: list[dict[str, Any]],
    judged: Period,
    subject: str,
    second: str,
    area: str,
    team: list[Any],
    kind: str = "",
    known: frozenset[str] = frozenset(),
) -> tuple[int, bool, int]:
    """(records that count, whether some record casts doubt, records set aside for lacking a field a filter
    reads)"""
    count, doubt, lacking = 0, False, 0
    for r in records:
        if r["type"] not in match.types or not judged.start <= r["date"] <= judged.end:
            continue
        if not _passes(match, r, subject, second, area, team):
            # a record that fails only on who took part, and names someone not on the roster, casts doubt
            # (if the subject looks at it at all: a pair's other person, or the portfolio holder or area)
            people_only = _tags_ok(match, r) and not _people_ok(match, r, subject, second, team)
            looked_at = {
                "pair": second in r["people"],
                "portfolio": r.get("chair") == subject or subject in r["people"] or r.get("portfolio") == area,
            }.get(kind, True)
            strangers = r["people"] - known
            expected = _expected_people(match, r, subject, second, team)
            close = any(difflib.SequenceMatcher(None, u, w).ratio() >= 0.75 for u in strangers for w in expected)
            if people_only and looked_at and close:
                doubt = True
            continue
        where = _where_ok(match, r, _who(r, subject, second, team), declared_of(rule))
        if where is None:
            lacking += 1  # (lacks a field a filter reads: might have counted)
            continue
        if not where:
            continue  # (fails a condition on a field: not evidence, no doubt)
        quorum = rule.rule.quorum
        if quorum is not None:
            roles = None if quorum.group == "organisation" else {"secretary", "deputy_secretary", "member"}
            members = {
                p.id
                for p, post in team
                if post.start <= r["date"]
                and (post.end is None or r["date"] <= post.end)
                and (roles is None or post.role in roles)
            }
            if quorum.attendees == "participants":
                came = r["people"]
            elif r["declared"].get(quorum.attendees) is None:
                lacking += 1  # lacks the attendees field
                continue
            else:
                came = r["declared"][quorum.attendees]
            if not members:
                doubt = True
                continue
            share = Fraction(len(members & came), len(members))
            if (share <= quorum.share) if quorum.strict else (share < quorum.share):
                continue
        if rule.rule.attendance:
            present = {
                p.id for p, post in team if post.start <= r["date"] and (post.end is None or r["date"] <= post.end)
            }
            if not present:
                doubt = True
                continue
            assert rule.share is not None
            if Fraction(len(present & r["people"]), len(present)) < rule.share:
                continue
        count += 1
    return count, doubt, lacking


def declared_of(rule: CompiledRule) -> dict[str, str]:
    """The types of the fields the rule's where reads: declared ones from the compiled rules' vocabulary."""
    return {test.field: test.kind for test in rule.where}


def _where_ok(match: Match, r: dict[str, Any], who: dict[str, set[str]], kinds: Mapping[str, str]) -> bool | None:
    """Every where condition holds, read plainly from the rule, field by field in the order written (None: the
    first field that decides lacks a value)."""
    for name, condition in match.where.items():
        kind = kinds[name]
        value = r.get(name) if name in ("chair", "portfolio", "date") else r["declared"].get(name)
        if value is None:
            return None
        ops = condition.model_dump(exclude_none=True) if hasattr(condition, "model_dump") else {"equals": condition}
        for op, operand in ops.items():
            if kind == "person":
                refs = operand if op == "in_" else [operand]
                ok = any(value in who[ref] for ref in refs)
            elif kind == "people":
                ok = all(who[ref] & set(value) for ref in operand)
            elif kind == "date" and isinstance(operand, str):
                operand = dt.date.fromisoformat(operand)
                ok = _compare(op, value, operand)
            else:
                ok = _compare(op, value, operand)
            if not ok:
                return False
    return True


def _compare(op: str, value: Any, operand: Any) -> bool:
    return {
        "equals": lambda: value == operand,
        "in_": lambda: value in operand,
        "contains": lambda: operand in value,
        "at_least": lambda: value >= operand,
        "more_than": lambda: value > operand,
        "at_most": lambda: value <= operand,
        "less_than": lambda: value < operand,
    }[op]()


def _passes(match: Match, r: dict[str, Any], subject: str, second: str, area: str, team: list[Any]) -> bool:
    if not _tags_ok(match, r) or not _people_ok(match, r, subject, second, team):
        return False
    return not (match.portfolio == "subject" and r.get("portfolio") != area)


def _expected_people(match: Match, r: dict[str, Any], subject: str, second: str, team: list[Any]) -> set[str]:
    """The ids of the first people filter the record fails (chair first, then participants)."""
    who = _who(r, subject, second, team)
    if match.chair is not None and r.get("chair") not in who[match.chair]:
        return who[match.chair]
    for ref in match.participants:
        if not (who[ref] & r["people"]):
            return who[ref]
    return set()


def _who(r: dict[str, Any], subject: str, second: str, team: list[Any]) -> dict[str, set[str]]:
    secretaries = {
        p.id
        for p, post in team
        if post.role == "secretary" and post.start <= r["date"] and (post.end is None or r["date"] <= post.end)
    }
    return {"subject": {subject}, "first": {subject}, "second": {second}, "secretary": secretaries}


def _tags_ok(match: Match, r: dict[str, Any]) -> bool:
    if match.tags_any and not (r["tags"] & set(match.tags_any)):
        return False
    return not (match.tags_all and not set(match.tags_all) <= r["tags"])


def _people_ok(match: Match, r: dict[str, Any], subject: str, second: str, team: list[Any]) -> bool:
    secretaries = {
        p.id
        for p, post in team
        if post.role == "secretary" and post.start <= r["date"] and (post.end is None or r["date"] <= post.end)
    }
    who = {"subject": {subject}, "first": {subject}, "second": {second}, "secretary": secretaries}
    if match.chair is not None and r.get("chair") not in who[match.chair]:
        return False
    return all(who[ref] & r["people"] for ref in match.participants)


def _tainted(
    rule: CompiledRule, org: str, window: Period, bad: list[Mapping[str, Any]], types: set[str], as_of: dt.date
) -> bool:
    for row in bad:
        row_org = row.get("org")
        if isinstance(row_org, str) and row_org != org:
            continue
        row_type = row.get("type")
        if isinstance(row_type, str) and row_type in types and row_type not in rule.match.types:
            continue
        try:
            day = dt.date.fromisoformat(row["date"])
        except (KeyError, TypeError, ValueError):
            return True
        if window.start <= day <= window.end and day <= as_of:  # a row dated later could not be evidence yet
            return True
    return False


def _status(compiled: CompiledRules, rule: CompiledRule, count: int, due: bool, tainted: bool, lacking: int = 0) -> str:
    """The status of a count (`lacking`: the records set aside for lacking a field a filter reads, which might
    have counted)."""
    most = count + lacking
    fact = {
        "r": rule.index,
        "n": count,
        "most": most,
        "due": int(due),
        "taint": int(tainted),
        "na": 0,
        "unk": 0,
        "wv": 0,
    }
    (decision,) = decide(compiled.decisions, fact)
    return decision.status.value


def _triggers(
    compiled: CompiledRules,
    rule: CompiledRule,
    org: str,
    records: list[dict[str, Any]],
    bad: list[Mapping[str, Any]],
    period: Period,
    as_of: dt.date,
    types: set[str],
    out: dict[Key, Outcome],
) -> None:
    spec = rule.rule
    assert spec.trigger is not None
    days = rule.params.within_days or 0
    for row in bad:  # a rejected trigger row: the duty it would start cannot be judged
        if row.get("org") == org and row.get("type") in spec.trigger.types and row.get("id"):
            try:
                day = dt.date.fromisoformat(row["date"])
            except (KeyError, TypeError, ValueError):
                day = None
            if day is None or period.start <= day <= min(period.end, as_of):
                out[(org, spec.id, "record", row["id"], "", "", period.label, "")] = ("undeterminable", 0)
    for t in records:
        if t["type"] not in spec.trigger.types or not period.start <= t["date"] <= period.end:
            continue
        if not _passes(spec.trigger, t, "", "", "", []):
            continue
        window = Period(t["date"], t["date"] + dt.timedelta(days=days), f"{t['date'].isoformat()}+{days}d")
        key = (org, spec.id, "record", t["id"], "", "", window.label, "")
        judged = _judged(rule, window, None)
        if not isinstance(judged, Period):
            out[key] = ("not_applicable", 0)
            continue
        count = sum(
            1
            for r in records
            if r["type"] in rule.match.types
            and r["id"] != t["id"]
            and judged.start <= r["date"] <= judged.end
            and _passes(rule.match, r, "", "", "", [])
        )
        tainted = _tainted(rule, org, window, bad, types, as_of)
        out[key] = (_status(compiled, rule, count, as_of > judged.end, tainted), count)


EscalationKey = tuple[str, str, str]  # org, rule, subject
EscalationOutcome = tuple[str, int, list[str]]  # status, count, evidence


def reference_escalations(
    compiled: CompiledRules, roster: Roster, findings: Sequence[Finding], period: Period, max_evidence: int
) -> dict[EscalationKey, EscalationOutcome]:
    """Every escalation finding as key -> (status, count, evidence), summed up again from the lower findings
    as the report lists them (its order is the order the evidence names them in), with loops and sets only.
    Escalation rules that read escalation rules read the report's escalation findings: each layer is checked
    on its own inputs, and those are checked too."""
    out: dict[EscalationKey, EscalationOutcome] = {}
    posts = [(person, post) for person in roster.people for post in person.posts]
    for org in roster.organisations:
        for rule in compiled.rules:
            spec, esc = rule.rule, rule.rule.escalate
            if esc is None or rule.scope is not None:
                continue
            in_force = rule.effective.to is None or rule.effective.to >= period.end
            assert rule.effective.from_ <= period.start and in_force, "the oracle judges rules in force only"
            if org.kind not in spec.org_kinds:
                if not _other_vocabulary(compiled, org.kind, spec.org_kinds):
                    out[(org.id, spec.id, org.id)] = ("not_applicable", 0, [])
                continue
            lower = [f for f in findings if f.organisation.id == org.id and f.rule_id in esc.rules]

            def holders(roles: Iterable[Any], org_id: str = org.id) -> list[str]:
                found: list[str] = []
                for person, post in posts:
                    overlaps = post.start <= period.end and (post.end is None or post.end >= period.start)
                    if post.org == org_id and post.role in roles and overlaps and person.id not in found:
                        found.append(person.id)
                return found

            if spec.subject is SubjectKind.organisation:
                subjects = [(org.id, lower)]
            else:
                subjects = [(pid, [f for f in lower if f.subject.id == pid]) for pid in holders(spec.roles)]
            team = len(holders(esc.roles or ["secretary", "deputy_secretary", "member"]))
            roles = set(esc.roles)
            for subject, mine in subjects:
                fact = {"r": rule.index, "na": 0, "unk": 0, "wv": 0}
                count, shown = 0, []
                for suffix, more in (("", set()), ("p", {"pending"}), ("u", {"undeterminable"})):
                    counted = set(esc.status) | more
                    hits = [f for f in mine if f.status.value in counted and (not roles or f.subject.role in roles)]
                    if esc.count == "portfolios":
                        k = len({f.subject.portfolio for f in hits if f.subject.portfolio})
                    elif esc.count == "rules":
                        k = len({f.rule_id for f in hits})
                    elif esc.count == "people":
                        k = len({f.subject.id for f in hits if f.subject.kind in ("person", "portfolio", "pair")})
                    else:
                        k = len(hits)
                    secretary = [f for f in mine if f.status.value in counted and f.subject.role == "secretary"]
                    gap = 0
                    if esc.raise_share is not None:
                        share = Fraction(esc.raise_share.replace(" ", "")) if isinstance(esc.raise_share, str) else None
                        assert share is not None, "the test rules give shares as fractions"
                        gap = max(0, (math.ceil(share * team) if team else k + 1) - k)
                    fact.update({f"k{suffix}": k, f"sec{suffix}": len(secretary), f"gap{suffix}": gap})
                    if not suffix:
                        count = k
                        shown = hits + ([f for f in secretary if f not in hits] if esc.with_secretary else [])
                (decision,) = decide(compiled.decisions, fact)
                evidence = [_label(f) for f in shown][:max_evidence]
                out[(org.id, spec.id, subject)] = (decision.status.value, count, evidence)
    return out


def _label(f: Finding) -> str:
    parts = [f.rule_id, f.subject.id]
    if f.subject.second is not None:
        parts.append(f.subject.second.id)
    if f.subject.portfolio:
        parts.append(f.subject.portfolio)
    return "/".join([*parts, f.period.label])
