"""Business days per jurisdiction, from the maintained ``holidays`` package.

Invariants:

* A business day is a weekday (Monday to Friday) that is not a public holiday, or a weekend
  day that the government declared a working day (mainland China's 调休, e.g. Sunday
  2026-09-20 and Saturday 2026-10-10). The weekend is Saturday and Sunday everywhere here:
  the package's Hong Kong calendar counts only Sunday as weekend (the labour ordinance), but
  banks, regulators and our compliance staff do not work on Saturdays there either.
* Holidays come from the package only. China publishes each year's schedule (its holidays and
  adjusted working days) in November or December; until the installed package knows it, a
  deadline in that year is miscounted. ``calendar_is_current`` says whether it does and
  ``portal calendar check`` fails when the current year is unknown.
* ``deadline`` returns an aware UTC datetime: the last second (23:59:59) of the business day
  in the given time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from portal.jurisdiction import Jurisdiction

SATURDAY, SUNDAY = 5, 6
END_OF_DAY = time(23, 59, 59)


@lru_cache(maxsize=64)
def _calendar(jurisdiction: Jurisdiction, year: int) -> holidays.HolidayBase:
    match Jurisdiction(jurisdiction):
        case Jurisdiction.CN:
            return holidays.China(years=year)
        case Jurisdiction.HK:
            # "optional" holds the general holidays (banks and offices close); "public" the
            # statutory ones of the labour ordinance. Either means no business is done.
            return holidays.HongKong(years=year, categories=(holidays.PUBLIC, holidays.OPTIONAL))
        case Jurisdiction.US:
            # Federal holidays, the days the Federal Reserve and federal agencies close.
            return holidays.US(years=year)
        case Jurisdiction.TW:
            return holidays.Taiwan(years=year)


def is_business_day(day: date, jurisdiction: str) -> bool:
    calendar = _calendar(Jurisdiction(jurisdiction), day.year)
    if day in calendar.weekend_workdays:
        return True
    return day.weekday() not in (SATURDAY, SUNDAY) and day not in calendar


def add_business_days(start: date, days: int, jurisdiction: str) -> date:
    """The ``days``-th business day after ``start`` (``start`` itself not counted).

    ``days`` = 0 gives ``start`` if it is a business day, else the next business day: something
    due "within 0 business days" of a Saturday is due on Monday.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    if days == 0:
        while not is_business_day(day, jurisdiction):
            day += timedelta(days=1)
        return day
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_business_day(day, jurisdiction):
            counted += 1
    return day


def deadline(start: datetime, business_days: int, jurisdiction: str, tz: str) -> datetime:
    """End (23:59:59 local time in ``tz``) of the ``business_days``-th business day after the
    local date of ``start``, as an aware UTC datetime."""
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    zone = ZoneInfo(tz)
    local_day = start.astimezone(zone).date()
    due = add_business_days(local_day, business_days, jurisdiction)
    return datetime.combine(due, END_OF_DAY, tzinfo=zone).astimezone(UTC)


def calendar_is_current(jurisdiction: str, year: int) -> bool:
    """Whether the installed ``holidays`` package knows ``year``'s official schedule.

    Mainland China's holidays move every year by State Council notice, always with at least
    one adjusted working day (调休): a year without one in the package is a year the package
    predates. The other jurisdictions' holidays follow fixed rules (lunar dates included) that
    the package computes for every year it supports.
    """
    jurisdiction = Jurisdiction(jurisdiction)
    calendar = _calendar(jurisdiction, year)
    if not calendar.start_year <= year <= calendar.end_year:
        return False
    if jurisdiction is Jurisdiction.CN:
        return any(day.year == year for day in calendar.weekend_workdays)
    return True


def installed_version() -> str:
    return holidays.__version__
