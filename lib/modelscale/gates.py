"""Whether a job is due on a run date: the one decision of `run pipeline`, `run JOB --when-due` and Airflow.

``train`` is due on training days (`orchestration.is_training_day`), while no model scores yet, and while a
retraining asked for by monitoring is pending; until the training split holds labelled feature rows of
``training.split.min_train_days`` dates it waits (warm-up); a date the newest version was trained for is not
trained again (a rerun). ``score`` and ``monitor`` need a model trained for
this date or an earlier one: a model trained later may have learnt from this date's rows, and the date was
scored (or not) by the model that was in use then, so a rerun of a past date leaves its predictions. Every
input is persisted state (the registry, the feature and monitoring tables), so separate processes, one per
Airflow task, decide alike.
"""

from __future__ import annotations

import datetime as dt

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from pyspark.sql import functions as F

from modelscale.context import JobContext
from modelscale.logs import get_logger
from modelscale.monitoring.results import SLICE
from modelscale.orchestration import is_training_day
from modelscale.scoring.model import ModelRef, find
from modelscale.tracking.lineage import TRAIN_END_TAG
from modelscale.tracking.setup import configure
from modelscale.training.splits import between, window

log = get_logger("gates")
GATED = ("train", "score", "monitor")


def skip_reason(name: str, ctx: JobContext) -> str | None:
    """Why ``name`` is not due on the context's (one) run date; None when it is due."""
    if name not in GATED:
        return None
    day = ctx.run_dates[0]
    model = _model(ctx)
    if name != "train":
        return _not_scorable(model, day)
    if model is not None and (reason := _no_new_training(ctx, day)):
        return reason
    need = ctx.pipeline.training.split.min_train_days
    if _training_days(ctx, day) < need:
        return f"warm-up: the training split does not yet hold labelled rows of {need} date(s)"
    return None


def _no_new_training(ctx: JobContext, day: dt.date) -> str | None:
    """Why a pipeline that has a model trains no other on ``day`` (not a training day, or already trained for it)
    unless monitoring asked for a retraining; None when it may."""
    assert ctx.pipeline.model is not None
    newest = _newest_version(ctx.pipeline.model.registered_name)
    already = newest is not None and _trained_for(newest.run_id) == day
    if not already and is_training_day(ctx.pipeline.schedule, day):
        return None
    breach = retrain_requested(ctx, day)
    if breach is not None:
        log.info("%s train is due: monitoring breached on %s asked for a retraining", day, breach)
        return None
    return f"{newest.name} v{newest.version} was already trained for this date" if already else "not a training day"


def warm_up_dates(ctx: JobContext) -> list[dt.date]:
    """The leading run dates on which only ingest, validate and features can be due, known before any runs.

    That holds while no model is registered and the feature table has no row before the first run date:
    the training split of such a date then holds fewer than ``min_train_days`` of the run dates (days, or the
    months of a monthly pipeline). `run pipeline` runs these dates as one backfill instead of day by day.
    """
    pipeline, first = ctx.pipeline, ctx.run_dates[0]
    if pipeline.model is None or pipeline.features is None or _model(ctx) is not None:
        return []
    table = pipeline.features.table
    earlier = f"{pipeline.features.date} < '{first}'"
    if ctx.lakehouse.exists(table) and ctx.lakehouse.read(table, where=earlier).limit(1).count():
        return []
    split = pipeline.training.split
    warm: list[dt.date] = []
    for day in ctx.run_dates:
        start, end = window(day, split).train
        if sum(start <= d <= end for d in ctx.run_dates) >= split.min_train_days:
            break
        warm.append(day)
    return warm


def retrain_requested(ctx: JobContext, day: dt.date) -> dt.date | None:
    """The latest run date before ``day`` whose monitoring breached after the newest registered model version
    was created, when ``monitoring.retrain_on_breach`` is set (a pending retraining); else None. A flagged segment
    asks for none (`Measure.alerts`)."""
    pipeline = ctx.pipeline
    table = pipeline.monitoring.table
    if not pipeline.monitoring.retrain_on_breach or pipeline.model is None or not ctx.lakehouse.exists(table):
        return None
    trained = last_registered(pipeline.model.registered_name)
    if trained is None:
        return None
    breaches = ctx.lakehouse.read(table, where=f"run_date < '{day}'").where(
        F.col("breached") & (F.col("kind") != SLICE) & (F.col("model_name") == pipeline.model.registered_name)
        & (F.col("computed_at") > F.lit(trained)))
    return breaches.agg(F.max("run_date")).first()[0]


def last_registered(name: str) -> dt.datetime | None:
    """When the newest version of registered model ``name`` was created (naive UTC, like ``computed_at``)."""
    newest = _newest_version(name)
    if newest is None:
        return None
    return dt.datetime.fromtimestamp(newest.creation_timestamp / 1000, dt.UTC).replace(tzinfo=None)


def _newest_version(name: str) -> ModelVersion | None:
    """The highest version of ``name``: every page of its versions, sorted here (Unity Catalog's registry refuses
    ``order_by``; a model has few versions)."""
    found = mlflow.search_model_versions(filter_string=f"name = '{name}'")
    return max(found, key=lambda v: int(v.version), default=None)


def _trained_for(run_id: str) -> dt.date | None:
    """The run date the training run ``run_id`` trained for (its window's end)."""
    tag = MlflowClient().get_run(run_id).data.tags.get(TRAIN_END_TAG)
    return dt.date.fromisoformat(tag) if tag else None


def _model(ctx: JobContext) -> ModelRef | None:
    """The model version scoring would use, if any."""
    if ctx.pipeline.model is None:
        return None
    configure(ctx.settings, ctx.pipeline.name)
    return find(ctx.pipeline.model.registered_name, ctx.pipeline.scoring)


def _not_scorable(model: ModelRef | None, day: dt.date) -> str | None:
    """Why ``model`` may not score ``day``: there is none, or it was trained for a later run date."""
    if model is None:
        return "no model to score with yet"
    trained_for = _trained_for(model.run_id)
    if trained_for is not None and trained_for > day:
        return f"{model.describe()} was trained for {trained_for}, after this date (it may have learnt from its rows)"
    return None


def _training_days(ctx: JobContext, day: dt.date) -> int:
    """How many dates of the training split of the window ending at ``day`` have a labelled feature row."""
    pipeline = ctx.pipeline
    if pipeline.features is None or pipeline.model is None or not ctx.lakehouse.exists(pipeline.features.table):
        return 0
    start, end = window(day, pipeline.training.split).train
    date = pipeline.features.date
    rows = ctx.lakehouse.read(pipeline.features.table, where=between(start, end, date))
    return rows.where(F.col(pipeline.model.label).isNotNull()).agg(F.count_distinct(date)).first()[0]
