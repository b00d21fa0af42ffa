"""Start a job the same way from the CLI, spark-submit, a notebook or an Airflow task."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pyspark.sql import SparkSession

from modelscale.catalog import Catalog
from modelscale.config import AppConfig, load_config
from modelscale.jobs.context import JobContext, JobResult
from modelscale.jobs.registry import JOBS, available, get_job
from modelscale.logs import get_logger, setup_logging, step
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
    """Run one job by name and log its outcome on one line."""
    job = get_job(name).load()
    with step(log, f"job {name}", dates=f"{ctx.run_dates[0]}..{ctx.run_dates[-1]}") as info:
        result = job(ctx)
        info["ok"] = result.ok
    return result


def run_pipeline(ctx: JobContext) -> list[JobResult]:
    """Run every available job in pipeline order; stop at the first that fails."""
    results: list[JobResult] = []
    skipped = [n for n in JOBS if n not in available()]
    if skipped:
        log.info("not part of this version yet: %s", ", ".join(skipped))
    for name in available():
        result = run_job(name, ctx)
        results.append(result)
        if not result.ok:
            break
    return results
