"""Whether a job is due on a run date: the one decision of `run pipeline`, `run JOB --when-due` and Airflow.

``train`` is due on training days (`orchestration.is_training_day`), while no model scores yet, and while a
retraining asked for by monitoring is pending; until the training split holds labelled feature rows of
``training.split.min_train_days`` dates it waits (warm-up). ``score`` and ``monitor`` need a model. Every
input is persisted state (the registry, the feature and monitoring tables), so separate processes, one per
Airflow task, decide alike.
"""

from __future__ import annotations

import datetime as dt

from mlflow import MlflowClient
from pyspark.sql import functions as F

from modelscale.context import JobContext
from modelscale.logs import get_logger
from modelscale.orchestration import is_training_day
from modelscale.scoring.model import find
from modelscale.tracking.setup import configure
from modelscale.training.splits import DATE_COLUMN, between, window

log = get_logger("gates")
GATED = ("train", "score", "monitor")


def skip_reason(name: str, ctx: JobContext) -> str | None:
    """Why ``name`` is not due on the context's (one) run date; None when it is due."""
    if name not in GATED:
        return None
    day = ctx.run_dates[0]
    has_model = _has_model(ctx)
    if name != "train":
        return None if has_model else "no model to score with yet"
    if has_model and not is_training_day(ctx.pipeline.schedule, day):
        breach = retrain_requested(ctx, day)
        if breach is None:
            return "not a training day"
        log.info("%s train is due: monitoring breached on %s asked for a retraining", day, breach)
    need = ctx.pipeline.training.split.min_train_days
    if _training_days(ctx, day) < need:
        return f"warm-up: the training split does not yet hold labelled rows of {need} date(s)"
    return None


def warm_up_dates(ctx: JobContext) -> list[dt.date]:
    """The leading run dates on which only ingest, validate and features can be due, known before any runs.

    That holds while no model is registered and the feature table has no row before the first run date:
    the training split of such a date then spans fewer than ``min_train_days`` of the run dates.
    `run pipeline` runs these dates as one backfill instead of day by day.
    """
    pipeline, first = ctx.pipeline, ctx.run_dates[0]
    if pipeline.model is None or pipeline.features is None or _has_model(ctx):
        return []
    table = pipeline.features.table
    if ctx.lakehouse.exists(table) and ctx.lakehouse.read(table, where=f"{DATE_COLUMN} < '{first}'").limit(1).count():
        return []
    split = pipeline.training.split
    warm: list[dt.date] = []
    for day in ctx.run_dates:
        start, end = window(day, split).train
        if (end - max(start, first)).days + 1 >= split.min_train_days:
            break
        warm.append(day)
    return warm


def retrain_requested(ctx: JobContext, day: dt.date) -> dt.date | None:
    """The latest run date before ``day`` whose monitoring breached after the newest registered model version
    was created, when ``monitoring.retrain_on_breach`` is set (a pending retraining); else None."""
    pipeline = ctx.pipeline
    table = pipeline.monitoring.table
    if not pipeline.monitoring.retrain_on_breach or pipeline.model is None or not ctx.lakehouse.exists(table):
        return None
    trained = last_registered(pipeline.model.registered_name)
    if trained is None:
        return None
    breaches = ctx.lakehouse.read(table, where=f"run_date < '{day}'").where(
        F.col("breached") & (F.col("model_name") == pipeline.model.registered_name)
        & (F.col("computed_at") > F.lit(trained)))
    return breaches.agg(F.max("run_date")).first()[0]


def last_registered(name: str) -> dt.datetime | None:
    """When the newest version of registered model ``name`` was created (naive UTC, like ``computed_at``)."""
    newest = MlflowClient().search_model_versions(f"name = '{name}'", max_results=1,
                                                  order_by=["creation_timestamp DESC"])
    if not newest:
        return None
    return dt.datetime.fromtimestamp(newest[0].creation_timestamp / 1000, dt.UTC).replace(tzinfo=None)


def _has_model(ctx: JobContext) -> bool:
    if ctx.pipeline.model is None:
        return False
    configure(ctx.settings, ctx.pipeline.name)
    return find(ctx.pipeline.model.registered_name, ctx.pipeline.scoring) is not None


def _training_days(ctx: JobContext, day: dt.date) -> int:
    """How many dates of the training split of the window ending at ``day`` have a labelled feature row."""
    pipeline = ctx.pipeline
    if pipeline.features is None or pipeline.model is None or not ctx.lakehouse.exists(pipeline.features.table):
        return 0
    start, end = window(day, pipeline.training.split).train
    rows = ctx.lakehouse.read(pipeline.features.table, where=between(start, end))
    return rows.where(F.col(pipeline.model.label).isNotNull()).agg(F.count_distinct(DATE_COLUMN)).first()[0]
