"""``modelscale run features``: build the gold feature table for each run date, then validate it.

The silver inputs are read without the rows their validation quarantined (`read_passing`). The run
dates are one ``replaceWhere`` on their ``flight_date`` partitions (one commit, also for a backfill)
with a Txn whose app id names the dates and whose version is the sum of the input table (and
quarantine) versions: a rerun on unchanged inputs is skipped, a rerun after any input changed
rewrites those dates, and nothing outside them is touched. Then the feature table's suite runs on the run dates at the version the job leaves
(`validate_suites`: dq_results, quarantine, Data Docs); an ``error`` failure fails the job.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame

from modelscale.config.modeling import FeaturesConfig
from modelscale.context import JobContext, JobResult, dates_predicate, dates_span
from modelscale.delta import Txn
from modelscale.features.builders import build_features
from modelscale.features.columns import require_columns
from modelscale.features.inputs import features_config, pin_versions
from modelscale.logs import get_logger, step
from modelscale.quality.job import failure_message, suites_run_by, validate_suites
from modelscale.quality.passing import read_passing

log = get_logger("features")
JOB = "features"

FLIGHT_COLUMNS = ["flight_date", "sched_dep_ts", "sched_dep_time", "carrier", "flight", "origin", "dest",
                  "tailnum", "distance", "arr_delay"]
PLANE_COLUMNS = ["tailnum", "year", "seats", "engines"]


def run(ctx: JobContext) -> JobResult:
    """Rebuild the feature partitions of ``ctx.run_dates`` from pinned silver versions, and validate them."""
    cfg = features_config(ctx)
    lh = ctx.lakehouse
    versions = pin_versions(ctx, [cfg.flights_table, cfg.weather_table, cfg.planes_table])
    planes = read_passing(lh, ctx.pipeline, cfg.planes_table, versions)
    require_columns(planes, PLANE_COLUMNS, table=cfg.planes_table, key="features.planes_table")
    dates = ctx.run_dates
    span, where = dates_span(dates), dates_predicate("flight_date", dates)
    with step(log, "features", dates=span) as info:
        result = lh.overwrite(
            cfg.table, _features(ctx, cfg, versions, planes, dates, where), replace_where=where,
            txn=Txn(app_id=f"{ctx.pipeline.name}/features/{span}", version=sum(versions.values())),
            skip_unchanged=(),  # a rerun over other spans (a backfill's dates one by one) rebuilds the same rows
            metadata={"run_id": ctx.run_id, "run_dates": span,
                      **{f"input.{t}.version": str(v) for t, v in versions.items()}},
        )
        info.update(committed=result.committed, rows=result.rows_written, version=result.version)
    rows, written = result.rows_written, [str(d) for d in dates] if result.committed else []
    tallies = validate_suites(ctx, suites_run_by(ctx.pipeline, JOB))
    message = failure_message(tallies)
    return JobResult(JOB, ok=not message, message=message,
                     summary={"table": cfg.table, "rows": rows, "dates_written": written,
                              "dates_skipped": len(ctx.run_dates) - len(written), "inputs": versions,
                              "validation": {t: tally.as_dict() for t, tally in tallies.items()}})


def _features(ctx: JobContext, cfg: FeaturesConfig, versions: dict[str, int], planes: DataFrame,
              dates: list[dt.date], where: str) -> DataFrame:
    """The features of the flights of ``dates`` (selected by ``where``); weather is read for a day around them (whether ``obs_date``
    is the local or the UTC date, it covers every observation the as-of join can pick)."""
    lh, pipeline = ctx.lakehouse, ctx.pipeline
    flights = read_passing(lh, pipeline, cfg.flights_table, versions, where=where)
    require_columns(flights, FLIGHT_COLUMNS, table=cfg.flights_table, key="features.flights_table")
    day = dt.timedelta(days=1)
    weather = read_passing(lh, pipeline, cfg.weather_table, versions,
                           where=f"obs_date BETWEEN '{min(dates) - day}' AND '{max(dates) + day}'")
    require_columns(weather, ["origin", "obs_ts"], table=cfg.weather_table, key="features.weather_table")
    require_columns(weather, cfg.weather_columns, table=cfg.weather_table, key="features.weather_columns")
    return lh.clustered(cfg.table, build_features(flights, weather, planes, cfg))  # one file per date

