"""What a scheduler runs for a pipeline: the task graph and the training cadence.

Kept free of Airflow, Spark and MLflow imports so the Airflow DAGs can build from it; whether a job
is due on a date is decided when the job runs (`gates`), the same way for every launch mode.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from modelscale.cadence import previous_run_date
from modelscale.config.models import ScheduleConfig
from modelscale.registry import available

EXIT_NOT_DUE = 99
"""Exit code of ``modelscale run JOB --when-due`` when the job was due on none of its run dates: the Airflow
tasks end in the skipped state on it (99, the code Airflow's own operators skip on by default)."""


@dataclass(frozen=True)
class TaskSpec:
    """One scheduled job and the jobs it waits for."""

    job: str
    upstream: list[str] = field(default_factory=list)


def is_training_day(schedule: ScheduleConfig, day: dt.date) -> bool:
    """Train on the schedule's first run date and on the first run date on or after every ``train_every_days``
    since: every ``train_every_days``-th day of a daily pipeline; for a monthly one with 90 days, the months that
    begin each 90 days (Jan, Apr, Jul, Oct, Jan in a year from January)."""
    offset, every = (day - schedule.start_date).days, schedule.train_every_days
    since_last_run = (day - previous_run_date(day, schedule.cadence)).days
    return offset >= 0 and offset // every > (offset - since_last_run) // every


def task_plan(jobs: list[str] | None = None) -> list[TaskSpec]:
    """The available jobs as one chain in pipeline order (each task runs its job with ``--when-due``)."""
    names = jobs if jobs is not None else available()
    return [TaskSpec(name, names[i - 1 : i]) for i, name in enumerate(names)]
