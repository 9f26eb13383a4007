import datetime as dt

import pytest

from rules_engine import Granularity, Period, parse_period


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2024", "2024-01-01", "2024-12-31"),
        ("2024-H2", "2024-07-01", "2024-12-31"),
        ("2024-Q1", "2024-01-01", "2024-03-31"),
        ("2024-02", "2024-02-01", "2024-02-29"),
        ("2024-03-15..2024-05-01", "2024-03-15", "2024-05-01"),
    ],
)
def test_parse_period(text: str, start: str, end: str) -> None:
    period = parse_period(text)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)


@pytest.mark.parametrize("text", ["24", "2024-H3", "2024-13", "last year"])
def test_bad_period_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="2024-H1"):
        parse_period(text)


def test_reversed_range_is_refused() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        parse_period("2024-05-01..2024-04-01")


def test_windows_cover_overlapping_calendar_units() -> None:
    period = parse_period("2024-02-10..2024-08-01")
    halves = period.windows(Granularity.half_year)
    assert [w.label for w in halves] == ["2024-H1", "2024-H2"]
    quarters = parse_period("2024").windows(Granularity.quarter)
    assert [(q.start, q.end) for q in quarters][3] == (dt.date(2024, 10, 1), dt.date(2024, 12, 31))
    assert len(parse_period("2024").windows(Granularity.month)) == 12


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("last year", "'last year'"),  # text as given, not its repr
        ("x" * 100, "'" + "x" * 80 + "'"),  # cut to 80 characters
        ("2024\ud800", "'2024\\ud800'"),  # a lone surrogate escaped: the message stays printable
        (2024, "'2024'"),  # not text: its repr
    ],
    ids=["text", "long", "surrogate", "number"],
)
def test_an_unrecognised_period_is_shown_as_given_within_bounds(given: object, shown: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_period(given)  # type: ignore[arg-type]
    message = str(caught.value)
    assert message == (
        f"无法识别的期间 {shown} (unrecognised period); "
        "可用 expected: 2024, 2024-H1, 2024-Q3, 2024-05, 2024-01-01..2024-06-30"
    )
    message.encode("utf-8")


def test_intersect_keeps_the_label_and_meets_on_a_single_day() -> None:
    h1 = parse_period("2024-H1")
    assert h1.intersect(parse_period("2024-06-30..2024-09-01")) == Period(
        dt.date(2024, 6, 30), dt.date(2024, 6, 30), "2024-H1"
    )
    assert h1.intersect(parse_period("2024-07-01..2024-09-01")) is None
    assert h1.intersect(parse_period("2023")) is None


def test_an_impossible_day_in_a_range_is_named() -> None:
    with pytest.raises(ValueError) as caught:
        parse_period("2024-02-30..2024-03-01")
    assert str(caught.value) == "期间中的日期无效 '2024-02-30..2024-03-01' (invalid date in period)"


@pytest.mark.parametrize("text", ["1000", "1000-01-01..1000-01-01", "9899-12-31..9899-12-31", "9899-H2"])
def test_periods_at_the_bounds_of_the_calendar_are_accepted(text: str) -> None:
    assert parse_period(text).days >= 1


@pytest.mark.parametrize("text", ["0999", "0999-12-31..1000-01-01", "9899-12-31..9900-01-01", "9900"])
def test_periods_beyond_the_bounds_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="1000 年至 9899 年之间"):
        parse_period(text)
