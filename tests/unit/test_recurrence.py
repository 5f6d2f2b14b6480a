"""When a recurring mailing runs next (tools/recurrence.py)."""
from datetime import date, datetime, time

import pytest

from tools.recurrence import Recurrence, next_run, time_of_hours


def test_daily_same_day_before_the_time_and_next_day_after():
    daily = Recurrence("daily", at=time(8, 0))
    assert next_run(daily, datetime(2026, 12, 1, 7, 59)) == datetime(2026, 12, 1, 8, 0)
    assert next_run(daily, datetime(2026, 12, 1, 8, 0)) == datetime(2026, 12, 2, 8, 0), "strictly after"


def test_weekly_on_chosen_days():
    weekly = Recurrence("weekly", at=time(17, 30), weekdays=frozenset({0, 3}))  # Monday and Thursday
    # 2026-12-01 is a Tuesday
    assert next_run(weekly, datetime(2026, 12, 1, 9, 0)) == datetime(2026, 12, 3, 17, 30)
    assert next_run(weekly, datetime(2026, 12, 3, 18, 0)) == datetime(2026, 12, 7, 17, 30)


def test_monthly_on_the_last_day_of_a_short_month():
    monthly = Recurrence("monthly", at=time(9, 0), month_day=31)
    assert next_run(monthly, datetime(2027, 2, 1)) == datetime(2027, 2, 28, 9, 0)
    assert next_run(monthly, datetime(2027, 2, 28, 10, 0)) == datetime(2027, 3, 31, 9, 0)
    leap = Recurrence("monthly", at=time(9, 0), month_day=30)
    assert next_run(leap, datetime(2028, 2, 1)) == datetime(2028, 2, 29, 9, 0)


def test_term_dates_then_over():
    terms = Recurrence("dates", at=time(7, 0), dates=(date(2027, 1, 11), date(2026, 9, 7), date(2027, 5, 3)))
    assert next_run(terms, datetime(2026, 12, 1)) == datetime(2027, 1, 11, 7, 0)
    assert next_run(terms, datetime(2027, 5, 3, 7, 0)) is None


def test_missed_runs_are_not_caught_up():
    """Asked a week late, a daily series gives the next run after now, not the seven it missed."""
    daily = Recurrence("daily", at=time(8, 0))
    assert next_run(daily, datetime(2026, 12, 8, 12, 0)) == datetime(2026, 12, 9, 8, 0)


def test_until():
    daily = Recurrence("daily", at=time(8, 0), until=date(2026, 12, 2))
    assert next_run(daily, datetime(2026, 12, 1, 9, 0)) == datetime(2026, 12, 2, 8, 0)
    assert next_run(daily, datetime(2026, 12, 2, 9, 0)) is None


@pytest.mark.parametrize("kwargs", [
    {"frequency": "hourly"}, {"frequency": "weekly"}, {"frequency": "weekly", "weekdays": frozenset({7})},
    {"frequency": "monthly", "month_day": 0}, {"frequency": "monthly", "month_day": 32},
])
def test_bad_rules_are_refused(kwargs):
    with pytest.raises(ValueError):
        Recurrence(**kwargs)


def test_time_of_hours():
    assert time_of_hours(8.5) == time(8, 30)
    assert time_of_hours(23.999) == time(0, 0)
    assert time_of_hours(None) == time(0, 0)
