"""Record validation: the fast path and the thorough path accept exactly the same records."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rules_engine.load.inputs import BadRow, Rec, _check_slow, check_record

text = st.one_of(st.none(), st.just(""), st.text(max_size=6), st.integers(), st.lists(st.text(max_size=3), max_size=3))
dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["2024-13-05", "2024-02-30", "2024/03/01", "24-03-01", "2024-1a-05", "", "2024-03-01T00:00"]),
    text,
)
records = st.fixed_dictionaries(
    {
        "id": st.one_of(st.text(min_size=1, max_size=5), text),
        "org": st.one_of(st.just("t1"), text),
        "type": st.one_of(st.just("meeting"), text),
        "date": dates,
    },
    optional={
        "chair": text,
        "participants": st.one_of(st.lists(st.text(max_size=3), max_size=4), text),
        "portfolio": text,
        "tags": st.one_of(st.lists(st.text(max_size=3), max_size=3), text),
        "text": text,
        "colour": text,
    },
)


@settings(max_examples=400, deadline=None)
@given(records)
def test_fast_path_agrees_with_the_thorough_path(data: dict) -> None:
    fast = check_record(data, "f.jsonl", 7)
    slow = _check_slow(data, "f.jsonl", 7)
    assert type(fast) is type(slow)
    if isinstance(fast, Rec):
        assert fast == slow
    else:
        assert isinstance(fast, BadRow) and isinstance(slow, BadRow)
        assert (fast.field, fast.en) == (slow.field, slow.en)


def test_roster_rejections_are_located_and_units_add_up(tmp_path) -> None:
    from rules_engine import read_roster

    path = tmp_path / "roster.yaml"
    path.write_text(
        """\
organisations:
  - {id: t1, name: 甲镇党委, kind: township}
  - {id: t1, name: 重复, kind: township}
  - {id: t2, name: 乙镇党委, kind: townshp}
people:
  - id: a
    name: 甲
    posts:
      - {org: t1, role: secretary, start: 2020-01-01}
      - {org: t1, role: member, start: 2021-01-01}
      - {org: t9, role: member, start: 2021-01-01}
      - {org: t1, role: member, start: 2024-01-01, end: 2023-01-01}
  - id: a
    name: 重复
    posts: [{org: t1, role: member, start: 2020-01-01}]
""",
        encoding="utf-8",
    )
    result = read_roster(path)
    reasons = {(r.line, r.field): r.en for r in result.rejected}
    assert "duplicate organisation id" in reasons[(3, "id")]
    assert (4, "kind") in reasons
    assert "overlaps another post" in reasons[(10, "start")]
    assert "unknown organisation 't9'" in reasons[(11, "org")]
    assert any("ends before it starts" in r.en for r in result.rejected)
    assert "duplicate person id" in reasons[(13, "id")]
    assert result.read == 3 + 4 + 1 and result.used + result.rejected_units == result.read
    assert result.used == 2  # organisation t1 and the secretary post
    assert [p.role for p in result.roster.people[0].posts] == ["secretary"]


def test_duplicate_key_in_a_roster_is_located(tmp_path) -> None:
    from rules_engine import read_roster

    path = tmp_path / "roster.yaml"
    path.write_text("organisations:\n  - {id: t1, name: 甲, kind: township, name: 乙}\n", encoding="utf-8")
    result = read_roster(path)
    assert result.rejected and result.rejected[0].line == 2 and "duplicate key" in result.rejected[0].en
