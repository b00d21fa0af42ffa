"""How often a pipeline runs: its run dates are every day (``daily``) or the first day of every month (``monthly``).

A pipeline declares its cadence in ``schedule.cadence``. The run dates of ``run pipeline --start/--end``, the
landing file each run date expects, the training days and the warm-up follow it. Pure Python: the Airflow DAGs and
the config loader import it.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

Cadence = Literal["daily", "monthly"]
CRON: dict[Cadence, str] = {"daily": "@daily", "monthly": "@monthly"}
"""The schedule a cadence runs on when ``schedule.cron`` is not given."""


def period_start(day: dt.date, cadence: Cadence) -> dt.date:
    """The run date whose period holds ``day``: the day itself, or the first day of its month."""
    return day.replace(day=1) if cadence == "monthly" else day


def next_run_date(day: dt.date, cadence: Cadence) -> dt.date:
    """The run date after the period holding ``day``."""
    if cadence == "daily":
        return day + dt.timedelta(days=1)
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def previous_run_date(day: dt.date, cadence: Cadence) -> dt.date:
    """The run date before the period holding ``day``."""
    return period_start(period_start(day, cadence) - dt.timedelta(days=1), cadence)


def first_of_last(day: dt.date, run_dates: int, cadence: Cadence) -> dt.date:
    """The first of the last ``run_dates`` run dates ending at the run date ``day`` (``day`` itself for one)."""
    for _ in range(run_dates - 1):
        day = previous_run_date(day, cadence)
    return day


def run_dates_between(start: dt.date, end: dt.date, cadence: Cadence) -> list[dt.date]:
    """Every run date in ``start..end`` (inclusive), in order."""
    day = start if period_start(start, cadence) == start else next_run_date(start, cadence)
    dates = []
    while day <= end:
        dates.append(day)
        day = next_run_date(day, cadence)
    return dates


def require_run_date(day: dt.date, cadence: Cadence, what: str) -> dt.date:
    """``day`` when it is a run date of ``cadence``; a ValueError naming ``what`` (the option or key) otherwise."""
    if period_start(day, cadence) != day:
        raise ValueError(f"{what}: {day} is not a run date of a {cadence} pipeline (schedule.cadence): its run dates "
                         f"are the first day of each month, e.g. {period_start(day, cadence)}")
    return day
