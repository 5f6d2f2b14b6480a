"""When a recurring mailing runs next: daily, weekly on chosen days, monthly on a day, or on each date of a list.

Plain Python on naive *local* datetimes (the company's time zone; the caller converts). A run missed while the
series was paused, or while Odoo was down, is not caught up: the next run is always the first one strictly after
the moment asked about.
"""
import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

FREQUENCIES = ("daily", "weekly", "monthly", "dates")


@dataclass(frozen=True)
class Recurrence:
    frequency: str
    at: time = time(8, 0)  # local time of day
    weekdays: frozenset = field(default_factory=frozenset)  # 0 = Monday ... 6 = Sunday (weekly)
    month_day: int = 1  # 1..31; a shorter month runs on its last day (monthly)
    dates: tuple = ()  # the term dates (dates)
    until: date | None = None  # no run after this day

    def __post_init__(self):
        if self.frequency not in FREQUENCIES:
            raise ValueError("frequency must be one of %s" % ", ".join(FREQUENCIES))
        if self.frequency == "weekly" and not (self.weekdays and set(self.weekdays) <= set(range(7))):
            raise ValueError("a weekly recurrence needs weekdays among 0 (Monday) to 6 (Sunday)")
        if self.frequency == "monthly" and not 1 <= self.month_day <= 31:
            raise ValueError("month_day must be between 1 and 31")


def time_of_hours(hours):
    """08:30 for 8.5 (Odoo's float_time widget)."""
    minutes = round((hours or 0.0) * 60) % (24 * 60)
    return time(minutes // 60, minutes % 60)


def next_run(recurrence, after):
    """The first run strictly after ``after`` (naive local datetime), or None when the series is over."""
    candidate = _next_run(recurrence, after)
    if candidate is None or (recurrence.until and candidate.date() > recurrence.until):
        return None
    return candidate


def _next_run(recurrence, after):
    if recurrence.frequency == "dates":
        runs = sorted(datetime.combine(day, recurrence.at) for day in set(recurrence.dates))
        return next((run for run in runs if run > after), None)
    day = after.date()
    # At most a year and a few days ahead for any daily / weekly / monthly rule.
    for _offset in range(370):
        run = datetime.combine(day, recurrence.at)
        if run > after and _runs_on(recurrence, day):
            return run
        day += timedelta(days=1)
    return None


def _runs_on(recurrence, day):
    if recurrence.frequency == "daily":
        return True
    if recurrence.frequency == "weekly":
        return day.weekday() in recurrence.weekdays
    last_day = calendar.monthrange(day.year, day.month)[1]
    return day.day == min(recurrence.month_day, last_day)
