"""``modelscale run features``: build the gold feature table for each run date, then validate it.

The table is declared in the pipeline's ``features:`` section (`modelscale.features.build`). Its input
tables are read at pinned versions without the rows their validation quarantined (`read_passing`): the base
table for the run dates (and the days before them that the history windows reach back into), each lookup
table whole, or, for an as-of lookup with a ``date_column``, for the days that can qualify. The run dates
are one ``replaceWhere`` on their date partitions (one commit, also for a backfill) with a Txn whose app
id names the dates and whose version is the sum of the input table (and quarantine) versions: a rerun on
unchanged inputs is skipped, a rerun after any input changed rewrites those dates (and commits nothing when
their rows come out the same), and nothing outside them is touched. Then the feature table's suite runs on
the run dates at the version the job leaves (`validate_suites`: dq_results, quarantine, Data Docs); an
``error`` failure fails the job.
"""

from __future__ import annotations

import datetime as dt
import math

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from modelscale.config.features import FeaturesConfig, LookupConfig
from modelscale.context import JobContext, JobResult, dates_predicate, dates_span
from modelscale.delta import Txn
from modelscale.features.build import build_features
from modelscale.features.columns import require_columns, require_row_key
from modelscale.features.inputs import features_config, pin_versions
from modelscale.logs import get_logger, step
from modelscale.quality.job import failure_message, suites_run_by, validate_suites
from modelscale.quality.passing import read_passing

log = get_logger("features")
JOB = "features"


def run(ctx: JobContext) -> JobResult:
    """Rebuild the feature partitions of ``ctx.run_dates`` from pinned input versions, and validate them."""
    cfg = features_config(ctx)
    lh = ctx.lakehouse
    versions = pin_versions(ctx, cfg.tables)
    dates = ctx.run_dates
    span, where = dates_span(dates), dates_predicate(cfg.date, dates)
    with step(log, "features", dates=span) as info:
        result = lh.overwrite(
            cfg.table, lh.clustered(cfg.table, _features(ctx, cfg, versions, dates)), replace_where=where,
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


def _features(ctx: JobContext, cfg: FeaturesConfig, versions: dict[str, int], dates: list[dt.date]) -> DataFrame:
    """The feature rows of ``dates``, from the base rows of those dates and of the days the windows look back."""
    lh, pipeline = ctx.lakehouse, ctx.pipeline
    require_row_key(lh.read(cfg.base, version=versions[cfg.base]), cfg, table=cfg.base)
    look_back = max((d for w in cfg.windows for d in w.days), default=0)
    reach = (f"{cfg.date} BETWEEN '{min(dates) - dt.timedelta(days=look_back + 1)}' AND '{max(dates)}'"
             if look_back else dates_predicate(cfg.date, dates))
    base = read_passing(lh, pipeline, cfg.base, versions, where=reach)
    lookups = [_lookup_rows(ctx, lookup, versions, dates, f"features.lookups[{i}]")
               for i, lookup in enumerate(cfg.lookups)]
    return build_features(base, lookups, cfg, current=F.expr(dates_predicate(cfg.date, dates)) if look_back else None)


def _lookup_rows(ctx: JobContext, lookup: LookupConfig, versions: dict[str, int], dates: list[dt.date],
                 key: str) -> DataFrame:
    """The lookup table's passing rows; for an as-of lookup with a ``date_column``, only the days that can hold
    a match (a day's margin either side: the column may be a local or a UTC date)."""
    if lookup.date_column is None or lookup.max_age_hours is None:
        return read_passing(ctx.lakehouse, ctx.pipeline, lookup.table, versions)
    require_columns(ctx.lakehouse.read(lookup.table, version=versions[lookup.table]), [lookup.date_column],
                    table=lookup.table, key=f"{key}.date_column")
    back = dt.timedelta(days=math.ceil(lookup.max_age_hours / 24) + 1)
    return read_passing(ctx.lakehouse, ctx.pipeline, lookup.table, versions,
                        where=f"{lookup.date_column} BETWEEN '{min(dates) - back}' AND '{max(dates) + dt.timedelta(days=1)}'")
