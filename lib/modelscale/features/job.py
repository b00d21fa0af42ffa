"""``modelscale run features``: build the gold feature table for each run date.

Each date is one ``replaceWhere`` on its ``flight_date`` partition with a Txn whose app id names
the date and whose version is the sum of the input table versions: a rerun on unchanged inputs is
skipped, a rerun after any input changed rewrites that date, and nothing outside it is touched.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame

from modelscale.config.modeling import FeaturesConfig
from modelscale.delta import Txn
from modelscale.errors import ConfigError
from modelscale.features.builders import build_features
from modelscale.features.columns import require_columns
from modelscale.features.inputs import pin_versions
from modelscale.jobs.context import JobContext, JobResult
from modelscale.logs import get_logger, step

log = get_logger("features")

FLIGHT_COLUMNS = ["flight_date", "sched_dep_ts", "sched_dep_time", "carrier", "flight", "origin", "dest",
                  "tailnum", "distance", "arr_delay"]
PLANE_COLUMNS = ["tailnum", "year", "seats", "engines"]


def features_config(ctx: JobContext) -> FeaturesConfig:
    """The pipeline's ``features`` section; a clear error when it has none."""
    if ctx.pipeline.features is None:
        raise ConfigError(f"pipeline {ctx.pipeline.name!r} has no features section")
    return ctx.pipeline.features


def run(ctx: JobContext) -> JobResult:
    """Rebuild the feature partitions of ``ctx.run_dates`` from pinned silver versions."""
    cfg = features_config(ctx)
    lh = ctx.lakehouse
    versions = pin_versions(ctx, [cfg.flights_table, cfg.weather_table, cfg.planes_table])
    planes = lh.read(cfg.planes_table, version=versions[cfg.planes_table])
    require_columns(planes, PLANE_COLUMNS, table=cfg.planes_table, key="features.planes_table")
    rows, written = 0, []
    for day in ctx.run_dates:
        with step(log, "features", date=day) as info:
            df = _day_features(ctx, cfg, versions, planes, day)
            result = lh.overwrite(
                cfg.table, df, replace_where=f"flight_date = '{day}'",
                txn=Txn(app_id=f"{ctx.pipeline.name}/features/{day}", version=sum(versions.values())),
                metadata={"run_id": ctx.run_id, "run_date": str(day),
                          **{f"input.{t}.version": str(v) for t, v in versions.items()}},
            )
            info.update(committed=result.committed, rows=result.rows_written, version=result.version)
            rows += result.rows_written
            if result.committed:
                written.append(str(day))
    return JobResult("features", summary={"table": cfg.table, "rows": rows, "dates_written": written,
                                          "dates_skipped": len(ctx.run_dates) - len(written),
                                          "inputs": versions})


def _day_features(ctx: JobContext, cfg: FeaturesConfig, versions: dict[str, int], planes: DataFrame,
                  day: dt.date) -> DataFrame:
    """The features of one flight date; weather is read for the day around it (whether ``obs_date``
    is the local or the UTC date, it covers every observation the as-of join can pick)."""
    lh = ctx.lakehouse
    flights = lh.read(cfg.flights_table, version=versions[cfg.flights_table], where=f"flight_date = '{day}'")
    require_columns(flights, FLIGHT_COLUMNS, table=cfg.flights_table, key="features.flights_table")
    weather = lh.read(cfg.weather_table, version=versions[cfg.weather_table],
                      where=f"obs_date BETWEEN '{day - dt.timedelta(days=1)}' AND '{day + dt.timedelta(days=1)}'")
    require_columns(weather, ["origin", "obs_ts"], table=cfg.weather_table, key="features.weather_table")
    require_columns(weather, cfg.weather_columns, table=cfg.weather_table, key="features.weather_columns")
    return build_features(flights, weather, planes, cfg)
