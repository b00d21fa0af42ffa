"""Start a job the same way from the CLI, spark-submit, a notebook or an Airflow task."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from modelscale.catalog import Catalog
from modelscale.config import AppConfig, load_config
from modelscale.jobs.context import JobContext, JobResult
from modelscale.jobs.registry import JOBS, available, get_job
from modelscale.logs import get_logger, setup_logging, step
from modelscale.orchestration import is_training_day
from modelscale.session import get_spark

log = get_logger("runner")


def run_dates(
    run_date: dt.date | None = None, start: dt.date | None = None, end: dt.date | None = None
) -> list[dt.date]:
    """One date, an inclusive range, or today when neither is given."""
    if run_date and (start or end):
        raise ValueError("give either --run-date or --start/--end, not both")
    if start or end:
        if not (start and end):
            raise ValueError("--start and --end go together")
        if end < start:
            raise ValueError(f"--end {end} is before --start {start}")
        return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    return [run_date or dt.date.today()]


def build_context(
    env: str,
    pipeline: str | None,
    dates: list[dt.date],
    *,
    config: AppConfig | None = None,
    spark: SparkSession | None = None,
    flags: dict[str, Any] | None = None,
) -> JobContext:
    """Load config, get the Spark session and the Delta engine, and bind the pipeline's tables."""
    from modelscale.delta import Lakehouse, select_engine  # Spark-side imports only when a job runs

    cfg = config or load_config(env, pipeline)
    st = cfg.settings
    setup_logging(st.log_level, st.home / "logs")
    session = spark or get_spark(st.spark)
    engine = select_engine(
        session,
        st.delta.engine,
        target_file_size_mb=st.delta.target_file_size_mb,
        max_open_files_per_task=st.delta.max_open_files_per_task,
    )
    lakehouse = Lakehouse(session, Catalog(st, cfg.pipeline), engine)
    log.info("env=%s pipeline=%s delta engine=%s dates=%s..%s", env, pipeline, lakehouse.engine_name,
             dates[0], dates[-1])
    return JobContext(
        config=cfg, spark=session, lakehouse=lakehouse, run_dates=dates,
        run_id=uuid.uuid4().hex[:12], flags=dict(flags or {}),
    )


def run_job(name: str, ctx: JobContext) -> JobResult:
    """Run one job by name, log its outcome on one line and record it in the operations log."""
    from modelscale.monitoring.operations import recorded

    job = get_job(name).load()
    with step(log, f"job {name}", dates=f"{ctx.run_dates[0]}..{ctx.run_dates[-1]}") as info:
        result = recorded(name, ctx, job)
        info["ok"] = result.ok
    return result


def run_pipeline(ctx: JobContext) -> list[JobResult]:
    """Every available job for each run date in order, each on a context of that one date.

    ``train`` runs on training days (`orchestration.is_training_day`), when there is no model to score
    with yet, and after a monitoring breach asked for a retraining, once the feature table holds rows of
    the training split (before that, the date is a warm-up: no train, score or monitor). A monitoring
    breach is reported and the next dates still run; any other failure stops the run. A summary is
    printed at the end.
    """
    from modelscale.monitoring.summary import pipeline_summary

    skipped = [n for n in JOBS if n not in available()]
    if skipped:
        log.info("not part of this version yet: %s", ", ".join(skipped))
    results: list[JobResult] = []
    notes: list[str] = []
    retrain, stopped = False, False
    for day in ctx.run_dates:
        day_ctx = replace(ctx, run_dates=[day])
        for name in available():
            reason = _skip_reason(name, day_ctx, retrain)
            if reason:
                notes.append(f"{day} {name} skipped: {reason}")
                log.info("%s %s skipped: %s", day, name, reason)
                continue
            result = run_job(name, day_ctx)
            results.append(result)
            if name == "train":
                retrain = False
            if name == "monitor":
                retrain = bool(result.summary.get("retrain_requested"))
            elif not result.ok:
                stopped = True
                break
        if stopped:
            notes.append(f"stopped at {day}: {results[-1].job} failed")
            break
    print(pipeline_summary(ctx, results, notes))
    return results


def _skip_reason(name: str, ctx: JobContext, retrain: bool) -> str | None:
    """Why ``name`` does not run on the context's date (None when it runs)."""
    if name not in ("train", "score", "monitor"):
        return None
    day = ctx.run_dates[0]
    has_model = _has_model(ctx)
    if name == "train":
        if not (is_training_day(ctx.pipeline.schedule, day) or retrain or not has_model):
            return "not a training day"
        if not _has_training_rows(ctx, day):
            return "warm-up: the feature table has no labelled rows in the training split yet"
        return None
    return None if has_model else "no model to score with yet"


def _has_model(ctx: JobContext) -> bool:
    from modelscale.scoring.model import find
    from modelscale.tracking.setup import configure

    if ctx.pipeline.model is None:
        return False
    configure(ctx.settings, ctx.pipeline.name)
    return find(ctx.pipeline.model.registered_name, ctx.pipeline.scoring) is not None


def _has_training_rows(ctx: JobContext, day: dt.date) -> bool:
    """Whether the training split of the window ending at ``day`` has a labelled feature row."""
    from modelscale.training.splits import between, window

    pipeline = ctx.pipeline
    if pipeline.features is None or pipeline.model is None or not ctx.lakehouse.exists(pipeline.features.table):
        return False
    start, end = window(day, pipeline.training.split).train
    rows = ctx.lakehouse.read(pipeline.features.table, where=between(start, end))
    return bool(rows.where(F.col(pipeline.model.label).isNotNull()).limit(1).count())
