"""The packs' vocabulary (rules-engine/v2): kinds, roles and groups declared or imported by packs, namespaced by
the declaring pack; the roster's attributes and memberships checked against it; applies_when; pairs drawn from
a group; v1 packs importing the standard vocabulary (cpc-basic) implicitly."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from rules_engine import Status, evaluate, lint, load_rules, read_roster
from rules_engine.load.inputs import roster_from_data

HEAD = """\
format: rules-engine/v2
pack:
  id: {id}
  version: 1.0.0
  title: {{zh: 测试, en: test}}
  regulation: {{id: t, document: 《测试规定》}}
  effective: {{from: 2020-01-01}}
"""

VILLAGE = """\
org_kinds:
  village:
    zh: 村党组织
    en: village Party organisation
    aliases: [村党支部]
    attributes:
      full_members: {type: number, zh: 正式党员人数, en: full members}
      merged: {type: boolean, zh: 合并村, en: merged village}
roles:
  secretary: {zh: 村书记, en: village secretary, head: true, team: true}
  committee_member: {zh: 支部委员, en: committee member, team: true}
  party_member: {zh: 党员, en: Party member}
groups:
  branch_committee:
    zh: 支部委员会
    en: branch committee
    kinds: [village]
  village_team:
    zh: 村班子
    en: village team
    roles: [secretary, committee_member]
record_types:
  meeting: {zh: 会议, en: meeting}
  talk: {zh: 谈话, en: talk}
  report: {zh: 报告, en: report}
"""


def rule(rule_id: str, body: str, kinds: str = "[village]") -> str:
    head = f"""\
  - id: {rule_id}
    title: {{zh: 测试规则, en: test rule}}
    citation: {{document: 《测试规定》, article: 1}}
    provenance: {{basis: local_practice}}
    org_kinds: {kinds}
"""
    return head + textwrap.indent(textwrap.dedent(body), "    ")


def write_pack(root: Path, pack_id: str, manifest: str = VILLAGE, rules: str = "") -> Path:
    folder = root / pack_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pack.yaml").write_text(HEAD.format(id=pack_id) + manifest, encoding="utf-8")
    if rules:
        (folder / "rules.yaml").write_text("format: rules-engine/v2\nrules:\n" + rules, encoding="utf-8")
    return folder


MEETING = """\
subject: organisation
match: {types: [meeting]}
params: {period: year, at_least: 1}
"""


def problems_of(*paths: Path) -> list[Any]:
    return lint(*[str(p) for p in paths])


# ------------------------------------------------------------------ namespacing


def test_two_packs_declaring_the_same_kind_do_not_collide(tmp_path: Path) -> None:
    a = write_pack(tmp_path, "nongcun-a", rules=rule("A-01", MEETING))
    b = write_pack(tmp_path, "nongcun-b", rules=rule("B-01", MEETING))
    ruleset = load_rules(a, b)
    kinds = {loaded.rule.id: loaded.rule.org_kinds for loaded in ruleset.rules}
    assert kinds == {"A-01": ["nongcun-a:village"], "B-01": ["nongcun-b:village"]}
    # each pack's organisations are its own: a roster names the kind qualified, and only that pack's rule judges
    # them (the other pack's rule says nothing of them, not even not_applicable)
    roster = {
        "organisations": [
            {"id": "v1", "name": "甲村", "kind": "nongcun-a:village"},
            {"id": "v2", "name": "乙村", "kind": "nongcun-b:village"},
        ]
    }
    report = evaluate(ruleset, roster, [], period="2024", as_of="2025-01-15")
    status = {(f.rule_id, f.organisation.id): f.status for f in report.findings}
    assert status[("A-01", "v1")] is Status.violated and ("A-01", "v2") not in status
    assert status[("B-01", "v2")] is Status.violated and ("B-01", "v1") not in status
    # alone, a pack's kind keeps its bare name (outputs unchanged)
    assert load_rules(a).rules[0].rule.org_kinds == ["village"]


def test_an_ambiguous_bare_name_is_refused_with_both_qualified_names(tmp_path: Path) -> None:
    a = write_pack(tmp_path, "nongcun-a")
    b = write_pack(tmp_path, "nongcun-b")
    c = write_pack(
        tmp_path,
        "local-c",
        "imports: [nongcun-a, nongcun-b]\nrecord_types: {meeting: {zh: 会议, en: meeting}}\n",
        rule("C-01", MEETING),
    )
    found = [p for p in problems_of(a, b, c) if p.code == "rule.term.ambiguous"]
    assert len(found) == 1
    assert "nongcun-a:village" in found[0].message_en and "nongcun-b:village" in found[0].message_en
    assert found[0].location.file.endswith("rules.yaml") and found[0].location.line == 7
    # written qualified, the same name resolves
    (c / "rules.yaml").write_text("rules:\n" + rule("C-01", MEETING, "[nongcun-b:village]"), encoding="utf-8")
    assert problems_of(a, b, c) == []


def test_a_term_of_a_pack_not_imported_is_refused_with_a_hint(tmp_path: Path) -> None:
    a = write_pack(tmp_path, "nongcun-a")
    c = write_pack(tmp_path, "local-c", "record_types: {meeting: {zh: 会议, en: meeting}}\n", rule("C-01", MEETING))
    (problem,) = problems_of(a, c)
    assert problem.code == "rule.term.not_imported"
    assert (problem.location.line, problem.location.path) == (7, "rules/0/org_kinds/0")
    assert "imports: [nongcun-a]" in problem.hint
    (c / "pack.yaml").write_text(
        HEAD.format(id="local-c") + "imports: [nongcun-a]\nrecord_types: {meeting: {zh: 会议, en: meeting}}\n",
        encoding="utf-8",
    )
    assert problems_of(a, c) == []


def test_an_import_that_names_no_pack_is_located_with_did_you_mean(tmp_path: Path) -> None:
    c = write_pack(tmp_path, "local-c", "imports: [cpc-basik]\nrecord_types: {meeting: {zh: 会议, en: meeting}}\n")
    (problem,) = problems_of(c)
    assert problem.code == "pack.import.unknown"
    assert problem.location.file.endswith("pack.yaml") and problem.location.line == 8
    assert "cpc-basic" in problem.hint


def test_lint_checks_every_name_with_did_you_mean(tmp_path: Path) -> None:
    body = """\
subject: pair
pair: {first: [secretery], second: {group: branch_comittee}}
applies_when:
  - attribute: full_member
    at_least: 7
  - has_group: village_tem
match: {types: [talk]}
params: {period: year, at_least: 1}
"""
    a = write_pack(tmp_path, "nongcun-a", rules=rule("A-01", body, "[vilage]"))
    found = {(p.code, p.location.path): p.hint for p in problems_of(a)}
    assert found == {
        ("rule.term.unknown", "rules/0/org_kinds/0"): "是否应为 did you mean 'village'?",
        ("rule.term.unknown", "rules/0/pair/first/0"): "是否应为 did you mean 'secretary'?",
        ("rule.term.unknown", "rules/0/pair/second/group"): "是否应为 did you mean 'branch_committee'?",
        ("rule.term.unknown", "rules/0/applies_when/1/has_group"): "是否应为 did you mean 'village_team'?",
        # (the kind is unknown, so no attribute is known either)
        ("rule.applies_when.unknown_attribute", "rules/0/applies_when/0/attribute"): "",
    }


def test_a_v1_pack_imports_the_standard_vocabulary(make_pack: Any) -> None:
    pack = make_pack(("R1", MEETING))
    ruleset = load_rules(pack)
    assert ruleset.rules[0].rule.org_kinds == ["township", "party_group"]
    vocabulary = ruleset.vocabulary
    assert set(vocabulary.terms["kind"]) == {
        "local_committee",
        "party_group",
        "department_committee",
        "township",
        "grassroots",
    }
    assert vocabulary.heads == {"secretary"} and vocabulary.team == ("secretary", "deputy_secretary", "member")
    assert vocabulary.lookup("role", "支部书记") == "secretary"


# ------------------------------------------------------------------ the roster


@pytest.fixture(scope="module")
def village_rules(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("packs")
    body = """\
subject: organisation
applies_when:
  - attribute: full_members
    at_least: 7
  - has_group: branch_committee
match: {types: [meeting]}
params: {period: year, at_least: 1}
"""
    pair = """\
subject: pair
pair: {first: [secretary], second: {group: branch_committee}, ordered: false}
match: {types: [talk], participants: [first, second]}
params: {period: year, at_least: 1}
"""
    trigger = """\
subject: trigger
applies_when:
  - attribute: full_members
    at_least: 7
trigger: {types: [report]}
match: {types: [talk]}
params: {within_days: 30, at_least: 1}
"""
    rules = rule("V-01", body) + rule("V-02", pair) + rule("V-03", trigger)
    return load_rules(write_pack(root, "nongcun-a", rules=rules))


def _village(attributes: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    org: dict[str, Any] = {"id": "v1", "name": "甲村", "kind": "村党支部", **extra}
    if attributes is not None:
        org["attributes"] = attributes
    return org


def _people(members: bool = True) -> list[dict[str, Any]]:
    post = [{"org": "v1", "role": "村书记", "start": "2020-01-01"}]
    group = [{"org": "v1", "group": "支部委员会", "start": "2020-01-01"}] if members else []
    return [
        {"id": "s", "name": "书记甲", "posts": post, "groups": group},
        {"id": "a", "name": "委员乙", "posts": [{"org": "v1", "role": "党员", "start": "2020-01-01"}], "groups": group},
        {"id": "b", "name": "委员丙", "groups": group},
    ]


def test_the_roster_reads_attributes_any_role_and_memberships(village_rules: Any) -> None:
    data = {"organisations": [_village({"正式党员人数": "12", "merged": "否"})], "people": _people()}
    result = roster_from_data(data, vocabulary=village_rules.vocabulary)
    assert result.rejected == []
    (org,) = result.roster.organisations
    assert (org.kind, org.attributes) == ("village", {"full_members": 12, "merged": False})
    assert [p.role for p in result.roster.people[1].posts] == ["party_member"]
    assert [(m.org, m.group) for m in result.roster.people[2].groups] == [("v1", "branch_committee")]
    assert result.read == result.used == 1 + 2 + 2 + 1  # the organisation, then each post and membership


@pytest.mark.parametrize(
    ("org", "person", "code", "field", "said"),
    [
        (_village({"full_member": 3}), None, "row.attribute.unknown", "attributes", "did you mean 'full_members'"),
        (_village({"full_members": "many"}), None, "row.attribute.type", "attributes", "must be a number"),
        (
            _village(),
            {"groups": [{"org": "v1", "group": "村班子", "start": "2020-01-01"}]},
            "row.group.by_roles",
            "group",
            "holders of its roles",
        ),
        (
            _village(),
            {"groups": [{"org": "v1", "group": "支委会", "start": "2020-01-01"}]},
            "row.group.unknown",
            "group",
            "did you mean '支部委员会'",
        ),
        (
            _village(),
            {"posts": [{"org": "v1", "role": "支书", "start": "2020-01-01"}]},
            "row.role.unknown",
            "role",
            "unknown role '支书'",
        ),
    ],
)
def test_a_bad_roster_value_is_refused_with_file_line_field_and_reason(
    tmp_path: Path,
    village_rules: Any,
    org: dict[str, Any],
    person: dict[str, Any] | None,
    code: str,
    field: str,
    said: str,
) -> None:
    import yaml

    data: dict[str, Any] = {"organisations": [org], "people": []}
    if person is not None:
        data["people"] = [{"id": "p", "name": "某人", **person}]
    path = tmp_path / "roster.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = read_roster(path, village_rules.vocabulary)
    (bad,) = result.rejected
    assert (bad.code, bad.source, bad.field) == (code, str(path), field)
    assert bad.line > 1 and said in bad.en
    assert result.read == result.used + result.rejected_units


def test_a_kind_meaning_two_packs_in_a_roster_is_refused_with_the_candidates(tmp_path: Path) -> None:
    ruleset = load_rules(write_pack(tmp_path, "nongcun-a"), write_pack(tmp_path, "nongcun-b"))
    result = roster_from_data({"organisations": [_village()]}, vocabulary=ruleset.vocabulary)
    (bad,) = result.rejected
    assert bad.code == "row.kind.unknown#ambiguous"
    assert "nongcun-a:village" in bad.en and "nongcun-b:village" in bad.en


# ------------------------------------------------------------------ applies_when, pairs from a group


def _evaluate(village_rules: Any, org: dict[str, Any], members: bool = True) -> dict[tuple[str, str], Any]:
    records = [
        {"id": "r1", "org": "v1", "type": "talk", "date": "2024-03-01", "participants": ["s", "b"]},
        {"id": "r2", "org": "v1", "type": "report", "date": "2024-02-20"},
    ]
    roster = {"organisations": [org], "people": _people(members)}
    report = evaluate(village_rules, roster, records, period="2024", as_of="2025-01-15")
    return {(f.rule_id, f.subject.id): f for f in report.findings}


def test_applies_when_holds_not_and_missing(village_rules: Any) -> None:
    holds = _evaluate(village_rules, _village({"full_members": 7}))
    assert holds[("V-01", "v1")].status is Status.violated  # applies; no meeting
    small = _evaluate(village_rules, _village({"full_members": 6}))[("V-01", "v1")]
    assert small.status is Status.not_applicable
    assert small.reason.zh == "规则仅适用于正式党员人数不少于7的组织，本组织正式党员人数为6"
    assert small.reason.en == "the rule applies only where full members at least 7; here full members is 6"
    no_group = _evaluate(village_rules, _village({"full_members": 9}), members=False)[("V-01", "v1")]
    assert no_group.status is Status.not_applicable and "未设支部委员会" in no_group.reason.zh
    missing = _evaluate(village_rules, _village())[("V-01", "v1")]
    assert missing.status is Status.undeterminable
    assert "full members" in missing.reason.en
    # a trigger rule starts its duties only where it applies
    assert _evaluate(village_rules, _village({"full_members": 7}))[("V-03", "r2")].status is Status.fulfilled
    small_trigger = _evaluate(village_rules, _village({"full_members": 6}))
    assert ("V-03", "r2") not in small_trigger
    assert small_trigger[("V-03", "v1")].status is Status.not_applicable


def test_an_escalation_rule_takes_no_applies_when(tmp_path: Path) -> None:
    body = """\
subject: organisation
applies_when: [{has_group: branch_committee}]
escalate: {rules: [A-01], raise_at: 1}
params: {}
"""
    a = write_pack(tmp_path, "nongcun-a", rules=rule("A-01", MEETING) + rule("A-02", body))
    assert [p.code for p in problems_of(a)] == ["rule.applies_when.escalation"]


def test_pairs_are_drawn_from_a_group(village_rules: Any) -> None:
    found = {k: f for k, f in _evaluate(village_rules, _village({"full_members": 7})).items() if k[0] == "V-02"}
    # the secretary with each other member of the branch committee (not with himself, not with a non-member)
    pairs = {(f.subject.id, f.subject.second.id if f.subject.second else None): f.status for f in found.values()}
    assert pairs == {("a", "s"): Status.violated, ("b", "s"): Status.fulfilled}


def test_a_workbook_roster_gives_attributes_by_column_and_memberships_by_group_column(
    tmp_path: Path, village_rules: Any
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.remove(book.active)
    orgs = book.create_sheet("组织")
    for row in (
        ["编号", "名称", "类型", "正式党员人数"],
        ["v1", "甲村", "村党支部", 12],
        ["v2", "乙村", "村党支部", "许多"],
    ):
        orgs.append(row)
    people = book.create_sheet("人员")
    for row in (
        ["编号", "姓名", "组织", "职务", "小组", "任职开始"],
        ["s", "书记甲", "v1", "村书记", None, "2020-01-01"],
        ["s", "书记甲", "v1", None, "支部委员会", "2021-01-01"],
        ["b", "委员丙", "v1", None, "村班子", "2021-01-01"],
    ):
        people.append(row)
    path = tmp_path / "roster.xlsx"
    book.save(path)
    result = read_roster(path, village_rules.vocabulary)
    (org,) = result.roster.organisations
    assert org.attributes == {"full_members": 12}
    (secretary,) = [p for p in result.roster.people if p.id == "s"]
    assert [p.role for p in secretary.posts] == ["secretary"]
    assert [(m.group, m.start.isoformat()) for m in secretary.groups] == [("branch_committee", "2021-01-01")]
    bad = {(r.source, r.line): r.code for r in result.rejected}
    assert bad == {(f"{path}#组织", 3): "row.attribute.type", (f"{path}#人员", 4): "row.group.by_roles"}
    assert result.read == result.used + result.rejected_units == 5  # 2 organisations, a post, 2 memberships
