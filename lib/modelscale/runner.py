"""Start a job the same way from the CLI, spark-submit, a notebook or an Airflow task."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from typing import Any

from pyspark.sql import SparkSession

from modelscale.cadence import Cadence, period_start, require_run_date, run_dates_between
from modelscale.catalog import Catalog
from modelscale.config import AppConfig, load_config
from modelscale.context import JobContext, JobResult
from modelscale.logs import get_logger, setup_logging, step
from modelscale.registry import JOBS, available, get_job
from modelscale.secrets import redact_text
from modelscale.session import get_spark
from modelscale.storage import s3

log = get_logger("runner")


def run_dates(
    run_date: dt.date | None = None, start: dt.date | None = None, end: dt.date | None = None,
    cadence: Cadence = "daily",
) -> list[dt.date]:
    """One run date, the run dates of an inclusive range, or today's (the first of the month for a monthly
    ``cadence``) when neither is given. A run date off the cadence is a ValueError."""
    if run_date and (start or end):
        raise ValueError("give either --run-date or --start/--end, not both")
    if start or end:
        if not (start and end):
            raise ValueError("--start and --end go together")
        if end < start:
            raise ValueError(f"--end {end} is before --start {start}")
        dates = run_dates_between(start, end, cadence)
        if not dates:
            raise ValueError(f"no run date of a {cadence} pipeline (schedule.cadence) between {start} and {end}")
        return dates
    if run_date:
        return [require_run_date(run_date, cadence, "--run-date")]
    return [period_start(dt.date.today(), cadence)]


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
    s3.use(session, st.storage.s3)
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


def run_if_due(name: str, ctx: JobContext) -> JobResult:
    """Run ``name`` on the context's one run date when `gates.skip_reason` finds it due; otherwise log the
    reason on one line, record the skip in the operations log and return a skipped result."""
    from modelscale.gates import skip_reason
    from modelscale.monitoring.operations import record_skip

    reason = skip_reason(name, ctx)
    if reason is None:
        return run_job(name, ctx)
    log.info("%s %s skipped: %s", ctx.run_dates[0], name, reason)
    record_skip(name, ctx, reason)
    return JobResult(name, skipped=reason)


def run_when_due(name: str, ctx: JobContext) -> list[JobResult]:
    """`run_if_due` on each run date in order, up to the first failure (``modelscale run JOB --when-due``)."""
    results: list[JobResult] = []
    for day in ctx.run_dates:
        results.append(run_if_due(name, replace(ctx, run_dates=[day])))
        if not results[-1].ok:
            break
    return results


def is_alert(result: JobResult, ctx: JobContext) -> bool:
    """Whether ``result`` is a monitoring breach that ``monitoring.on_breach: alert`` (the default) makes an alert:
    reported as a warning, not a failure, and answered by the retraining read back from the monitoring table."""
    return result.job == "monitor" and not result.ok and ctx.pipeline.monitoring.on_breach == "alert"


def run_pipeline(ctx: JobContext) -> list[JobResult]:
    """Every available job that is due (`run_if_due`) for each run date in order, each on a context of that date.

    The leading warm-up dates (`gates.warm_up_dates`: nothing to train or score yet) run as one backfill
    of ingest, validate and features. Returns the results of the jobs that ran. A monitoring breach is an
    alert (`is_alert`, unless ``monitoring.on_breach: fail``): it is reported, the next dates still run and the
    retraining it may ask for is read back from the monitoring table. Any other failure stops the run. A summary
    is printed at the end (secrets redacted: it names the tracking URI).
    """
    from modelscale.gates import warm_up_dates
    from modelscale.monitoring.summary import pipeline_summary

    skipped = [n for n in JOBS if n not in available()]
    if skipped:
        log.info("not part of this version yet: %s", ", ".join(skipped))
    results: list[JobResult] = []
    notes: list[str] = []
    warm = warm_up_dates(ctx)
    warm = warm if len(warm) > 1 else []  # a single date gains nothing from a batch
    stopped = bool(warm) and _warm_up(ctx, warm, results, notes)
    for day in [] if stopped else ctx.run_dates[len(warm):]:
        day_ctx = replace(ctx, run_dates=[day])
        for name in available():
            result = run_if_due(name, day_ctx)
            if result.skipped:
                notes.append(f"{day} {name} skipped: {result.skipped}")
                continue
            results.append(result)
            if not result.ok and not is_alert(result, ctx):
                stopped = True
                break
        if stopped:
            notes.append(f"stopped at {day}: {results[-1].job} failed")
            break
    print(redact_text(pipeline_summary(ctx, results, notes)))
    return results


def _warm_up(ctx: JobContext, dates: list[dt.date], results: list[JobResult], notes: list[str]) -> bool:
    """Ingest, validate and build features of the warm-up ``dates`` as one backfill; True when a job failed."""
    from modelscale.gates import GATED
    from modelscale.monitoring.operations import record_skip

    batch = replace(ctx, run_dates=dates)
    reason = (f"warm-up: no model yet and training needs labelled rows of "
              f"{ctx.pipeline.training.split.min_train_days} date(s)")
    log.info("%s..%s: %s; ingest, validate and features run as one backfill", dates[0], dates[-1], reason)
    for name in available():
        if name in GATED:
            record_skip(name, batch, reason)
            notes.append(f"{dates[0]}..{dates[-1]} {name} skipped: {reason}")
            continue
        results.append(run_job(name, batch))
        if not results[-1].ok:
            notes.append(f"stopped in the warm-up {dates[0]}..{dates[-1]}: {name} failed")
            return True
    return False
