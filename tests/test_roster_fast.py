"""Reading a roster fast: libyaml's nodes made into data by our own builder, and the lists validated a whole list
at a time. Both are shortcuts: whatever they refuse is read the careful way, which locates each problem, so the
roster, its rejections (file, line, field, reason) and its account are the same either way."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rules_engine import InputError, read_roster
from rules_engine.load import yamlfast
from rules_engine.load.inputs import _roster_entries, roster_from_data

# ---------------------------------------------------------------- validation a list at a time

# valid entries (whose lists are validated whole) and entries with something to reject, mixed
dates = st.sampled_from(["2020-01-01", "2022-06-30", "2024-01-01", dt.date(2023, 1, 1)])
bad_dates = st.sampled_from(["2024-02-30", 7, None])
BASE = [{"id": "o1", "name": "甲", "kind": "township"}, {"id": "o2", "name": "乙", "kind": "地方党委"}]
good_org = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["o3", "o4", "o5"]),
        "name": st.just("甲镇党委"),
        "kind": st.sampled_from(["township", "乡镇党委"]),
    },
    optional={"parent": st.sampled_from([None, "o1"]), "level": st.just("county")},
)
bad_org = st.one_of(
    st.fixed_dictionaries(
        {"id": st.sampled_from(["o1", ""]), "name": st.sampled_from(["乙", ""]), "kind": st.just("townshp")},
        optional={"parent": st.just("o9"), "colour": st.just("x")},
    ),
    good_org.map(lambda org: {**org, "parent": "o9"}),
    st.sampled_from(["o1", None, 3]),
)
good_post = st.fixed_dictionaries(
    {"org": st.sampled_from(["o1", "o2"]), "role": st.sampled_from(["secretary", "书记", "member"]), "start": dates},
    optional={"end": st.one_of(st.none(), dates), "portfolios": st.sampled_from([[], ["宣传"]])},
)
bad_post = st.one_of(
    good_post.map(lambda post: {**post, "org": "o9"}),
    good_post.map(lambda post: {**post, "role": "boss"}),
    good_post.map(lambda post: {**post, "start": "2024-02-30"}),
    bad_dates.map(lambda day: {"org": "o1", "role": "member", "start": day, "portfolios": "宣传"}),
    st.just("not a post"),
)
# two terms in one organisation (overlapping or not), among others
same_org = good_post.flatmap(lambda first: good_post.map(lambda second: [first, {**second, "org": first["org"]}]))
posts = st.one_of(st.lists(st.one_of(bad_post, good_post, good_post, good_post), max_size=3), same_org)
good_person = st.fixed_dictionaries(
    {"id": st.sampled_from(["p1", "p2", "p3", "p4", "p5", "p6"]), "name": st.just("甲")},
    optional={"posts": st.one_of(posts, st.none())},
)
valid_person = st.fixed_dictionaries(
    {"id": st.sampled_from(["p1", "p2", "p3", "p4", "p5", "p6"]), "name": st.just("甲")},
    optional={"posts": st.one_of(same_org, st.lists(good_post, max_size=3))},
)
bad_person = st.one_of(
    good_person.map(lambda person: {**person, "name": ""}),
    good_person.map(lambda person: {**person, "posts": "o1"}),
    st.just(["not", "a", "person"]),
)
organisations = st.one_of(bad_org, good_org, good_org, good_org)
people = st.one_of(bad_person, good_person, good_person, good_person)
listed = st.fixed_dictionaries(
    {  # o1 and o2 first, so that posts have somewhere to be
        "organisations": st.lists(organisations, max_size=3).map(lambda more: [*BASE, *more])
    },
    optional={"people": st.lists(people, max_size=4)},
)
rosters = st.one_of(listed.map(lambda roster: {**roster, "colour": 1}), listed, listed, listed)
# valid entries only: what decides between whole and entry by entry is then ids, parents, and terms that overlap
valid_rosters = st.fixed_dictionaries(
    {
        "organisations": st.lists(good_org, max_size=3, unique_by=lambda org: org["id"]).map(
            lambda more: [*BASE, *more]
        ),
        "people": st.lists(valid_person, min_size=1, max_size=4, unique_by=lambda person: person["id"]),
    }
)


def _same(fast, careful) -> None:
    assert fast.roster == careful.roster
    assert fast.rejected == careful.rejected
    assert (fast.read, fast.used, fast.rejected_units) == (careful.read, careful.used, careful.rejected_units)
    fields_set = [p.model_fields_set for p in careful.roster.people]
    assert [p.model_fields_set for p in fast.roster.people] == fields_set


@settings(max_examples=400, deadline=None)
@given(st.one_of(rosters, valid_rosters))
@pytest.mark.slow
def test_a_roster_read_a_list_at_a_time_is_the_one_read_entry_by_entry(data: dict) -> None:
    _same(roster_from_data(data, "r.yaml"), _roster_entries(data, "r.yaml"))


def _clean(orgs: int = 4) -> dict:  # (the last organisation has no post: rejecting it rejects nothing else)
    return {
        "organisations": [
            {"id": f"o{i}", "name": f"镇{i}", "kind": "township", "parent": "o0" if i else None} for i in range(orgs)
        ],
        "people": [
            {
                "id": f"p{i}",
                "name": f"人{i}",
                "posts": [{"org": f"o{i}", "role": "secretary", "portfolios": ["宣传"], "start": "2020-01-01"}],
            }
            for i in range(orgs - 1)
        ]
        + [{"id": "nobody", "name": "无职务"}],
    }


def _written(data: dict) -> tuple[str, dict[tuple, int]]:
    """`data` as YAML, an entry a line (a person's id, posts and each post on lines of their own), with the line
    of each entry by its path."""

    def flow(entry: object) -> str:
        if isinstance(entry, str):
            return entry
        return yaml.safe_dump(entry, allow_unicode=True, default_flow_style=True, width=1000).strip()

    lines, at = ["organisations:"], {}
    for i, org in enumerate(data["organisations"]):
        lines.append(f"  - {flow(org)}")
        at["organisations", i] = len(lines)
    lines.append("people:")
    for i, person in enumerate(data["people"]):
        lines.append(f"  - id: {person['id']}")
        at["people", i] = len(lines)
        lines.append(f"    name: {person['name']}")
        if isinstance(person.get("posts"), list):
            lines.append("    posts:")
            for j, post in enumerate(person["posts"]):
                lines.append(f"      - {flow(post)}")
                at["people", i, "posts", j] = len(lines)
        elif "posts" in person:
            lines.append(f"    posts: {flow(person['posts'])}")
            at["people", i, "posts"] = len(lines)
    return "\n".join(lines) + "\n", at


@pytest.mark.parametrize(
    ("where", "change", "code", "field"),
    [
        (("organisations", 3), {"kind": "townshp"}, "row.kind.unknown", "kind"),
        (("organisations", 3), {"id": "o1"}, "row.org.duplicate_id", "id"),
        (("organisations", 3), {"parent": "o9"}, "row.org.unknown_parent", "parent"),
        (("people", 1), {"id": "p0"}, "row.person.duplicate_id", "id"),
        (("people", 2, "posts"), {"posts": "o2"}, "row.posts.not_list", "posts"),
        (("people", 1, "posts", 0), {"org": "o9"}, "row.post.unknown_org", "org"),
        (("people", 1, "posts", 0), {"start": "2020-13-01"}, "row.roster.invalid", "start"),
        (("people", 1, "posts", 0), {"end": "2019-01-01"}, "row.post.ends_before_start", None),
        (
            ("people", 1, "posts", 1),
            {"org": "o1", "role": "member", "start": "2023-01-01"},
            "row.post.overlap",
            "start",
        ),
    ],
)
def test_one_bad_entry_is_rejected_at_its_line_and_the_rest_used(tmp_path, where, change, code, field) -> None:
    data = _clean()
    person = data[where[0]][where[1]]
    if len(where) < 4:
        person.update(change)
    elif where[3] < len(person["posts"]):
        person["posts"][where[3]].update(change)
    else:  # a post added
        person["posts"].append(change)
    text, at = _written(data)
    path = tmp_path / "roster.yaml"
    path.write_text(text, encoding="utf-8")
    result = read_roster(path)
    [bad] = result.rejected
    assert (bad.code, bad.source, bad.line) == (code, str(path), at[where])
    if field is not None:
        assert bad.field == field
    careful = _roster_entries(yaml.safe_load(text), str(path))
    assert result.roster == careful.roster and result.used == careful.used
    assert result.read == 4 + 3 + 1 + (code == "row.post.overlap")
    assert result.used == result.read - (code != "row.org.unknown_parent")  # (a warning: the organisation is used)


def test_a_clean_roster_is_validated_whole_with_its_account(tmp_path) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text(yaml.safe_dump(_clean(), allow_unicode=True), encoding="utf-8")
    result = read_roster(path)
    assert not result.rejected and result.read == result.used == 4 + 3 + 1
    assert [p.id for p in result.roster.people] == ["p0", "p1", "p2", "nobody"]
    assert result.roster.people[1].posts[0].start == dt.date(2020, 1, 1)
    assert result == roster_from_data(_clean(), str(path))


# ---------------------------------------------------------------- YAML made into data fast

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.dates(),
    st.sampled_from(["yes", "No", "~", "0x1F", "0o17", "1_000", "1:30", ".inf", "2024-1-5", "2024-01-05 10:00:00"]),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4)),
    max_leaves=20,
)


COMPOSERS = [None, yamlfast.PurePython]  # libyaml's (where PyYAML has it), and PyYAML's own


@settings(max_examples=300, deadline=None)
@given(documents, st.booleans(), st.sampled_from(COMPOSERS))
def test_yaml_data_is_what_pyyamls_safe_loader_makes(data, flow, composer) -> None:
    text = yaml.safe_dump(data, allow_unicode=True, default_flow_style=flow)
    assert yamlfast.load(text, composer) == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: [yes, No, on, ~, null, '', 0x1F, 0o17, 017, 1_000, 1:30, -.inf, 6.02e+23, '1', \"2\"]\n",
        "d: [2024-01-05, 2024-1-5, 2024-01-05 10:00:00, 2024-01-05T10:00:00+08:00, '2024-01-05']\n",
        "t: |\n  两行\n  文字\nf: >\n  folded\n  text\n",
        "? 1\n: int key\n? 2024-01-05\n: date key\n? null\n: null key\n",
        "",
        "# only a comment\n",
    ],
)
@pytest.mark.parametrize("composer", COMPOSERS)
def test_plain_yaml_scalars_are_resolved_as_pyyaml_does(text: str, composer) -> None:
    assert yamlfast.load(text, composer) == yaml.safe_load(text)


@pytest.mark.parametrize("composer", COMPOSERS)
def test_an_alias_is_one_object_and_not_expanded(composer) -> None:
    text = "a: &x [1, {b: 2}]\nc: *x\nd: [*x, *x]\n"
    data = yamlfast.load(text, composer)
    assert data == yaml.safe_load(text)
    assert data["a"] is data["c"] is data["d"][0] is data["d"][1]


@pytest.mark.parametrize(
    "text",
    [
        "a: !!binary 5L2g5aW9\n",
        "a: !!set {x: null}\n",
        "a: !!omap [{x: 1}]\n",
        "a: !!python/object/apply:os.system [echo]\n",
        "a: !mine x\n",
        "base: &b {x: 1}\nc:\n  <<: *b\n",
        "a: 1\na: 2\n",
        "? [a, b]\n: 1\n",
        "a: &x [*x]\n",
        "a: " + "[" * 45 + "]" * 45 + "\n",
        "start: 2024-02-30\n",
        "a: [b\n",
    ],
    ids=["binary", "set", "omap", "python", "tag", "merge", "duplicate", "complex", "self", "deep", "date", "syntax"],
)
@pytest.mark.parametrize("composer", COMPOSERS)
def test_yaml_the_careful_loader_must_locate_is_refused(text: str, composer) -> None:
    with pytest.raises(yamlfast.Refused):
        yamlfast.load(text, composer)


def test_a_roster_refused_by_the_fast_reader_is_located_by_the_careful_one(tmp_path) -> None:
    path = tmp_path / "roster.yaml"
    head = "organisations:\n  - {id: a, name: 甲, kind: township}\npeople:\n  - id: p\n    name: 乙\n    posts:\n"
    path.write_text(head + "      - {org: a, role: secretary, start: 2024-02-30}\n")
    result = read_roster(path)  # (a date that is not one: once a traceback)
    [bad] = result.rejected
    assert (bad.line, bad.field, bad.code) == (7, "start", "row.roster.invalid")
    assert result.read == 2 and result.used == 1
    path.write_text("organisations:\n  - {id: a, name: !!binary 5L2g5aW9, kind: township}\n")
    with pytest.raises(InputError) as refused:  # (a tag: once read as the bytes' text)
        read_roster(path)
    assert "yaml.tag" in str(refused.value) and ":2:" in str(refused.value)
    path.write_text("base: &b {kind: township}\norganisations:\n  - {<<: *b, id: a, name: A}\n")
    with pytest.raises(InputError, match="merge"):
        read_roster(path)
