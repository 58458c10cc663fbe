"""Business days with official holidays and, for mainland China, the adjusted working days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from portal.business_days import add_business_days, calendar_is_current, deadline, is_business_day
from portal.jurisdiction import Jurisdiction

CN, HK, US, TW = Jurisdiction.CN, Jurisdiction.HK, Jurisdiction.US, Jurisdiction.TW


def test_national_day_golden_week_is_skipped():
    # Wednesday 30 September 2026; 1-7 October are holidays (with 5-7 October moved there
    # from the weekend days worked on 20 September and 10 October).
    assert add_business_days(date(2026, 9, 30), 1, CN) == date(2026, 10, 8)
    assert [is_business_day(date(2026, 10, d), CN) for d in range(1, 8)] == [False] * 7


@pytest.mark.parametrize("worked", [date(2026, 9, 20), date(2026, 10, 10)])
def test_adjusted_weekend_working_days_count(worked):
    assert worked.weekday() in (5, 6)  # a Sunday and a Saturday
    assert is_business_day(worked, CN)


def test_the_adjusted_working_day_before_golden_week_is_counted():
    # Friday 18 September 2026 → Sunday 20 September is a working day, Monday the 21st the next.
    assert add_business_days(date(2026, 9, 18), 1, CN) == date(2026, 9, 20)
    assert add_business_days(date(2026, 9, 18), 2, CN) == date(2026, 9, 21)
    # Friday 9 October → Saturday 10 October is worked.
    assert add_business_days(date(2026, 10, 9), 1, CN) == date(2026, 10, 10)
    # Elsewhere the same Saturday is a weekend.
    assert add_business_days(date(2026, 10, 9), 1, US) == date(2026, 10, 13)  # Columbus Day on the 12th


def test_spring_festival():
    # 2026: 15-23 February off (with Saturday 14 and Saturday 28 February worked).
    assert add_business_days(date(2026, 2, 13), 1, CN) == date(2026, 2, 14)
    assert add_business_days(date(2026, 2, 14), 1, CN) == date(2026, 2, 24)
    assert is_business_day(date(2026, 2, 28), CN)


def test_fifteen_business_days_across_golden_week():
    assert add_business_days(date(2026, 9, 28), 15, CN) == date(2026, 10, 23)


def test_deadline_across_a_weekend_ends_at_midnight_local_time_in_utc():
    # Friday 6 March 2026, 16:30 in Shanghai; one business day → end of Monday 9 March there.
    start = datetime(2026, 3, 6, 8, 30, tzinfo=UTC)
    due = deadline(start, 1, CN, "Asia/Shanghai")
    assert due == datetime(2026, 3, 9, 15, 59, 59, tzinfo=UTC)
    assert due.tzinfo is UTC


def test_deadline_counts_from_the_local_date_not_the_utc_one():
    # 23:30 UTC on Thursday 5 March is already Friday 6 March in Shanghai.
    start = datetime(2026, 3, 5, 23, 30, tzinfo=UTC)
    assert deadline(start, 1, CN, "Asia/Shanghai") == datetime(2026, 3, 9, 15, 59, 59, tzinfo=UTC)


def test_deadline_needs_an_aware_start():
    with pytest.raises(ValueError, match="aware"):
        deadline(datetime(2026, 3, 6, 8, 30), 1, CN, "Asia/Shanghai")  # noqa: DTZ001


def test_us_federal_holiday():
    # Friday 3 July 2026 is Independence Day observed; Monday 7 September is Labor Day.
    assert add_business_days(date(2026, 7, 2), 1, US) == date(2026, 7, 6)
    assert add_business_days(date(2026, 9, 4), 1, US) == date(2026, 9, 8)
    due = deadline(datetime(2026, 7, 2, 20, 0, tzinfo=UTC), 1, US, "America/New_York")
    assert due == datetime(2026, 7, 7, 3, 59, 59, tzinfo=UTC)  # 23:59:59 EDT on 6 July


def test_hong_kong():
    # Lunar New Year 17-19 February 2026; Saturdays are not business days for us either.
    assert add_business_days(date(2026, 2, 16), 1, HK) == date(2026, 2, 20)
    assert add_business_days(date(2026, 2, 20), 1, HK) == date(2026, 2, 23)
    # Good Friday, the day after it and Easter Monday (3, 4, 6 April), Ching Ming observed on the 7th.
    assert add_business_days(date(2026, 4, 2), 1, HK) == date(2026, 4, 8)


def test_taiwan():
    # National Day observed on Friday 9 October 2026.
    assert add_business_days(date(2026, 10, 8), 1, TW) == date(2026, 10, 12)


def test_zero_days_is_today_or_the_next_business_day():
    assert add_business_days(date(2026, 3, 9), 0, CN) == date(2026, 3, 9)
    assert add_business_days(date(2026, 10, 1), 0, CN) == date(2026, 10, 8)
    with pytest.raises(ValueError):
        add_business_days(date(2026, 3, 9), -1, CN)


def test_unknown_jurisdiction_is_refused():
    with pytest.raises(ValueError):
        add_business_days(date(2026, 3, 9), 1, "XX")


def test_calendar_is_current_knows_2026_for_china():
    assert calendar_is_current(CN, 2026)
    assert calendar_is_current(US, 2026) and calendar_is_current(HK, 2026) and calendar_is_current(TW, 2026)


def test_a_chinese_year_without_adjusted_working_days_is_not_known():
    # 2100 is beyond any published schedule, within the package's computed range.
    assert not calendar_is_current(CN, 2100)
    assert not calendar_is_current(US, 3000)


def test_calendar_check_command(runner):
    result = runner.invoke(args=["calendar", "check", "--year", "2026"])
    assert result.exit_code == 0, result.output
    assert "CN 2026: official schedule known" in result.output
    assert "CN 2027" in result.output


def test_calendar_check_fails_when_this_year_is_unknown(runner):
    result = runner.invoke(args=["calendar", "check", "--year", "2100"])
    assert result.exit_code == 1
    assert "CN 2100: NOT KNOWN" in result.output
    assert "pip install --upgrade holidays" in result.output
