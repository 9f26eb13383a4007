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
