"""The jobs in pipeline order, imported lazily so `modelscale --help` starts no Spark."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from modelscale.context import JobContext, JobResult
from modelscale.errors import ModelscaleError


@dataclass(frozen=True)
class JobSpec:
    """A job's name, what it does, and where its ``run(ctx)`` lives (None until it is built)."""

    name: str
    summary: str
    target: str | None
    issue: int

    def load(self) -> Callable[[JobContext], JobResult]:
        if self.target is None:
            raise ModelscaleError(
                f"the {self.name} job is not part of this version yet (it is tracked as issue "
                f"{self.issue}); available jobs: {', '.join(available())}"
            )
        module, func = self.target.split(":")
        return getattr(importlib.import_module(module), func)


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec("ingest", "landing files -> bronze, quarantine and silver Delta tables", "modelscale.ingest.job:run", 4),
        JobSpec("validate", "Great Expectations suites on the silver tables", "modelscale.quality.job:run", 5),
        JobSpec("features", "gold feature table from silver tables, then its suite", "modelscale.features.job:run", 6),
        JobSpec("train", "Spark MLlib training, tuning, MLflow tracking and registry", "modelscale.training.job:run", 6),
        JobSpec("score", "batch predictions with the champion model", "modelscale.scoring.job:run", 7),
        JobSpec("monitor", "drift and performance monitoring", "modelscale.monitoring.job:run", 7),
    )
}


def available() -> list[str]:
    """Jobs that exist in this version, in pipeline order."""
    return [name for name, spec in JOBS.items() if spec.target is not None]


def get_job(name: str) -> JobSpec:
    """The job called ``name``; an unknown name lists the known ones."""
    try:
        return JOBS[name]
    except KeyError:
        raise ModelscaleError(f"unknown job {name!r}; jobs: {', '.join(JOBS)}, pipeline") from None
