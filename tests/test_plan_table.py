"""The plan as a table (rules_engine.plan.plan_table) against the planner it replaced (tests/plan_reference.py,
one Obligation object at a time in Python): the same obligations, field for field, on generated rosters (several
posts per person: promotions, changes of portfolio, gaps, overlaps; overlay organisations; changed parameters)
and on the bundled example."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules_engine import compile_rules, load_rules
from rules_engine.model.roster import Roster
from rules_engine.periods import parse_period
from rules_engine.pipeline import roster_result
from rules_engine.plan import Obligation, RosterIndex, plan, plan_table

from .conftest import EXAMPLE, RULES
from .plan_reference import reference_plan

RULESET = load_rules(RULES)
AREAS = ["宣传思想", "政法", "组织人事", "纪检"]
KINDS = ["local_committee", "party_group", "township", "grassroots", "department_committee"]
ROLES = ["secretary", "deputy_secretary", "member"]
OVERLAID = ["twn-chengguan", "twn-qingshan"]  # organisations an overlay pack of rules/ names
D0 = dt.date(2023, 6, 1)


def _fields(ob: Obligation) -> tuple[Any, ...]:
    return (
        ob.org.id,
        ob.rule.index,
        ob.subject_kind,
        ob.subject_id,
        ob.subject_name,
        ob.period,
        ob.window,
        ob.role,
        ob.portfolio,
        ob.first,
        ob.second,
        ob.second_name,
        ob.second_role,
        ob.trigger,
        ob.na,
        ob.unk,
        ob.count,
        ob.evidence,
        ob.waiver,
    )


def _same(obligations: list[Obligation], reference: list[Obligation]) -> None:
    ours = sorted(map(_fields, obligations), key=repr)
    theirs = sorted(map(_fields, reference), key=repr)
    assert len(ours) == len(theirs)
    for mine, expected in zip(ours, theirs, strict=True):
        assert mine == expected


def _day(n: int) -> str:
    return (D0 + dt.timedelta(days=n)).isoformat()


@st.composite
def roster(draw: Any) -> dict[str, Any]:
    ids = [f"o{i}" for i in range(draw(st.integers(1, 3)))]
    if draw(st.booleans()):
        ids.append(draw(st.sampled_from(OVERLAID)))
    orgs = [{"id": org, "name": f"组织{i}", "kind": draw(st.sampled_from(KINDS))} for i, org in enumerate(ids)]
    people = []
    for n in range(draw(st.integers(0, 7))):
        posts = []
        start = draw(st.integers(0, 500))
        for _ in range(draw(st.integers(1, 3))):  # consecutive, overlapping or with a gap
            end = draw(st.one_of(st.none(), st.integers(start, start + 400)))
            posts.append(
                {
                    "org": draw(st.sampled_from(ids)),
                    "role": draw(st.sampled_from(ROLES)),
                    "portfolios": draw(st.lists(st.sampled_from(AREAS), max_size=3, unique=True)),
                    "start": _day(start),
                    "end": None if end is None else _day(end),
                }
            )
            start = (end if end is not None else start) + draw(st.integers(-30, 60))
            start = max(start, 0)
        people.append({"id": f"p{draw(st.integers(0, 9))}{n}", "name": f"人{n}", "posts": posts})
    return {"organisations": orgs, "people": people}


@st.composite
def params(draw: Any) -> dict[str, dict[str, Any]]:
    chosen: dict[str, dict[str, Any]] = {}
    ids = [r.rule.id for r in RULESET.rules if r.rule.escalate is None and r.rule.params.period is not None]
    for rule_id in draw(st.lists(st.sampled_from(ids), max_size=4, unique=True)):
        choice: dict[str, Any] = {"period": draw(st.sampled_from(["year", "half_year", "quarter", "month"]))}
        if draw(st.booleans()):
            choice["min_days_in_post"] = draw(st.integers(0, 200))
        chosen[rule_id] = choice
    return chosen


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    roster(),
    params(),
    st.sampled_from(["2024", "2024-H1", "2024-H2", "2024-Q3", "2024-05", "2023-10-15..2024-08-10"]),
)
def test_the_table_plans_what_the_object_planner_planned(data: dict[str, Any], chosen: Any, period: str) -> None:
    try:
        the_roster = Roster.model_validate(data)
    except ValueError:
        return  # (a person with two posts that the roster refuses: not a roster the planner ever sees)
    compiled = compile_rules(RULESET, chosen)
    index = RosterIndex(the_roster)
    the_period = parse_period(period)
    _same(plan(compiled, index, the_period), reference_plan(compiled, index, the_period))
    # a worker's share: only its organisations
    share = {org.id for org in the_roster.organisations[::2]}
    _same(plan(compiled, index, the_period, share), reference_plan(compiled, index, the_period, share))


def test_the_example_is_planned_as_before() -> None:
    compiled = compile_rules(RULESET)
    index = RosterIndex(roster_result(EXAMPLE / "roster.yaml").roster)
    for period in ("2024", "2024-H2", "2023-07-01..2024-03-31"):
        planned = plan_table(compiled, index, parse_period(period))
        assert len(planned) == planned.table.height > 0
        _same(planned.obligations(), reference_plan(compiled, index, parse_period(period)))
