"""What every job receives and returns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelscale.config.models import AppConfig, PipelineConfig, Settings
from modelscale.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from modelscale.delta import Lakehouse


def dates_predicate(column: str, dates: list[dt.date]) -> str:
    """SQL selecting ``dates`` of a date column: ``BETWEEN`` for a run of consecutive days (a backfill), which
    is cheap to evaluate per row and to prune on, else ``IN``."""
    days = sorted(set(dates))
    if len(days) == 1:
        return f"{column} = '{days[0]}'"
    if (days[-1] - days[0]).days == len(days) - 1:
        return f"{column} BETWEEN '{days[0]}' AND '{days[-1]}'"
    return f"{column} IN ({', '.join(repr(str(d)) for d in days)})"


def dates_span(dates: list[dt.date]) -> str:
    """``D`` for one run date, ``D1..D2`` for several: how logs, Txn ids and summaries name a run's dates."""
    return str(dates[0]) if len(dates) == 1 else f"{min(dates)}..{max(dates)}"


@dataclass
class JobContext:
    """One job run: resolved config, the Spark session, the tables and the run dates."""

    config: AppConfig
    spark: SparkSession
    lakehouse: Lakehouse
    run_dates: list[dt.date]
    run_id: str
    flags: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.config.settings

    @property
    def pipeline(self) -> PipelineConfig:
        if self.config.pipeline is None:
            raise ConfigError("this job needs a pipeline: pass --pipeline NAME")
        return self.config.pipeline


@dataclass
class JobResult:
    """Outcome of a job: ``ok`` decides the exit code, ``summary`` is logged and recorded; ``skipped`` says
    why the job did not run (it was not due, see `gates`)."""

    job: str
    ok: bool = True
    summary: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    skipped: str | None = None
