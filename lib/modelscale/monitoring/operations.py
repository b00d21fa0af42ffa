"""The operations log: every job run as an MLflow run in ``<prefix>/<pipeline>/operations``.

Each run is tagged with the job, its run dates and outcome (ok, failed, error, or skipped when the
job was not due, with the reason as its message), and records the duration, every numeric value of
the job's summary as a metric (nested keys joined with dots, booleans as 0/1), the version of every
declared table before and after the job (params ``table.<name>.version_before/after``), and the
whole summary and message as ``summary.json`` (secrets redacted). The MlflowClient API is used, so the job's own
runs (training) are unaffected. A run that ran (not a skip) also exports its metrics to Prometheus.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from modelscale.context import JobContext, JobResult, dates_span
from modelscale.logs import get_logger
from modelscale.monitoring import prometheus
from modelscale.secrets import redact
from modelscale.tracking.setup import configure

log = get_logger("operations")
OPERATIONS = "operations"
SKIPPED = "skipped"
_KEY = re.compile(r"[^0-9A-Za-z_\-. /]")
MAX_METRICS = 500


def flatten(summary: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of ``summary`` as ``a.b.c -> value`` (booleans as 0/1, NaN and strings left out)."""
    out: dict[str, float] = {}
    for key, value in summary.items():
        name = _KEY.sub("_", f"{prefix}{key}")
        if isinstance(value, dict):
            out |= flatten(value, f"{name}.")
        elif isinstance(value, bool | int | float) and not (isinstance(value, float) and math.isnan(value)):
            out[name] = float(value)
    return out


def table_versions(ctx: JobContext) -> dict[str, int | None]:
    """The current version of every table the pipeline declares (None when it does not exist)."""
    return {name: ctx.lakehouse.version(name) for name in ctx.lakehouse.catalog.names()}


def recorded(job: str, ctx: JobContext, run: Callable[[JobContext], JobResult]) -> JobResult:
    """Run ``run(ctx)`` and record it (also when it raises) in the pipeline's operations experiment, and export its
    metrics to Prometheus (`prometheus.export`)."""
    before = table_versions(ctx)
    start = time.perf_counter()
    try:
        result = run(ctx)
    except Exception as exc:
        seconds = time.perf_counter() - start
        _record(job, ctx, before, seconds, "error", {}, f"{type(exc).__name__}: {exc}")
        prometheus.export(job, ctx, seconds, False, {})
        raise
    seconds = time.perf_counter() - start
    _record(job, ctx, before, seconds, "ok" if result.ok else "failed", result.summary, result.message)
    prometheus.export(job, ctx, seconds, result.ok, result.summary)
    return result


def record_skip(job: str, ctx: JobContext, reason: str) -> None:
    """Record that ``job`` was not due on the context's dates, and why (no table is read or written)."""
    _record(job, ctx, {}, 0.0, SKIPPED, {}, reason, after={})


def _record(job: str, ctx: JobContext, before: dict[str, int | None], seconds: float, outcome: str,
            summary: dict[str, Any], message: str, after: dict[str, int | None] | None = None) -> None:
    """One finished MLflow run; a tracking-store failure is logged, never raised (the job's outcome stands).

    ``after`` defaults to the tables' current versions.
    """
    dates = dates_span(ctx.run_dates)
    try:
        after = table_versions(ctx) if after is None else after
        experiment_id = configure(ctx.settings, f"{ctx.pipeline.name}/{OPERATIONS}")
        client = MlflowClient()
        run = client.create_run(experiment_id, run_name=f"{job}-{dates}", tags={
            "modelscale.job": job, "modelscale.run_date": dates, "modelscale.job_run_id": ctx.run_id,
            "modelscale.outcome": outcome})
        now = int(time.time() * 1000)
        metrics = {"duration_seconds": seconds, **flatten(summary)}
        params = {f"table.{t}.version_{when}": str(v) for when, versions in (("before", before), ("after", after))
                  for t, v in versions.items() if v is not None}
        client.log_batch(run.info.run_id,
                         metrics=[Metric(k, v, now, 0) for k, v in list(metrics.items())[:MAX_METRICS]],
                         params=[Param(k, v) for k, v in params.items()],
                         tags=[RunTag("modelscale.written", ",".join(t for t in after if after[t] != before.get(t)))])
        record = {"job": job, "run_dates": dates, "outcome": outcome, "message": message, "summary": summary}
        client.log_text(run.info.run_id, json.dumps(redact(record), indent=2, default=str), "summary.json")
        client.set_terminated(run.info.run_id, "FINISHED" if outcome in ("ok", SKIPPED) else "FAILED")
    except (MlflowException, OSError) as exc:
        log.warning("could not record %s in the operations log: %s", job, exc)
