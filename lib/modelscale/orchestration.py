"""What a scheduler runs for a pipeline: the task graph and the training cadence.

Kept free of Airflow imports so the same plan drives the Airflow DAGs, `modelscale run
pipeline` and the tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from modelscale.config.models import ScheduleConfig
from modelscale.jobs.registry import available


@dataclass(frozen=True)
class TaskSpec:
    """One scheduled job: the jobs it waits for, and whether it runs only on training days."""

    job: str
    upstream: list[str] = field(default_factory=list)
    training_day_only: bool = False


def is_training_day(schedule: ScheduleConfig, day: dt.date) -> bool:
    """Train on the schedule's first day and every ``train_every_days`` after it."""
    offset = (day - schedule.start_date).days
    return offset >= 0 and offset % schedule.train_every_days == 0


def task_plan(jobs: list[str] | None = None) -> list[TaskSpec]:
    """The available jobs as one chain in pipeline order; training runs only on training days.

    A skipped training does not block what follows it: scoring then uses the current champion.
    """
    names = jobs if jobs is not None else available()
    return [
        TaskSpec(name, names[i - 1 : i], training_day_only=name == "train")
        for i, name in enumerate(names)
    ]
