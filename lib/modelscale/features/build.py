"""The gold feature table from its declaration (`modelscale.config.features.FeaturesConfig`).

Outcomes and their availability first, then the history windows (over the base rows the job read for
them), then the lookups, then the SQL columns over all of those, then the Python hook. Every expression
and column is checked against the frame it applies to before anything runs (`sql_columns`).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from modelscale.config.features import FeaturesConfig, LookupConfig
from modelscale.errors import ConfigError
from modelscale.features.columns import require_columns, require_row_key
from modelscale.features.history import with_history
from modelscale.features.point_in_time import asof_join
from modelscale.hooks import resolve_hook
from modelscale.sql_columns import sql_columns, sql_value

AVAILABLE_AT = "_outcomes_known_at"
_LOOKUP_TS = "_lookup_ts"


def build_features(base: DataFrame, lookups: list[DataFrame], cfg: FeaturesConfig, *,
                   current: Column | None = None) -> DataFrame:
    """The feature rows of the ``base`` rows matching ``current`` (all when None); the other base rows are the
    history the windows aggregate. ``lookups`` are the tables of ``cfg.lookups``, in order."""
    require_row_key(base, cfg, table=cfg.base)
    rows = base.withColumns(dict(zip(cfg.outcomes.columns, sql_columns(
        base, cfg.outcomes.columns, key="features.outcomes.columns", table=cfg.base), strict=True)))
    rows = rows.withColumn(AVAILABLE_AT, sql_value(base, cfg.outcomes.available_at,
                                                   key="features.outcomes.available_at", table=cfg.base))
    out = rows if current is None else rows.where(current)
    for i, window in enumerate(cfg.windows):
        require_columns(rows, window.by, table=cfg.base, key=f"features.windows[{i}].by")
        value = sql_value(rows, window.value, key=f"features.windows[{i}].value", table=cfg.base)
        out = with_history(out, rows, window, value, key=cfg.row_key, timestamp=cfg.timestamp,
                           available_at=AVAILABLE_AT)
    for i, (lookup, table) in enumerate(zip(cfg.lookups, lookups, strict=True)):
        out = _looked_up(out, table, lookup, cfg, f"features.lookups[{i}]")
    columns = sql_columns(out, cfg.columns, key="features.columns", table=cfg.base)
    lookup_columns = [c for lookup in cfg.lookups for c in lookup.columns]
    windows = [w.column(d) for w in cfg.windows for d in w.days]
    features = out.select(*cfg.row_key, *cfg.outcomes.columns, *windows, *lookup_columns, *columns)
    return resolve_hook(cfg.hook)(features) if cfg.hook else features


def _looked_up(rows: DataFrame, table: DataFrame, lookup: LookupConfig, cfg: FeaturesConfig, key: str) -> DataFrame:
    """``rows`` with the lookup's columns: of the row matching ``by``, or of the latest at most ``max_age_hours``
    old at the row's timestamp (as-of)."""
    require_columns(rows, lookup.by, table=cfg.base, key=f"{key}.by")
    require_columns(table, lookup.by, table=lookup.table, key=f"{key}.by")
    clash = sorted(set(lookup.columns) & set(rows.columns))
    if clash:
        raise ConfigError(f"{key}.columns: {', '.join(clash)} already in the feature rows: name them otherwise")
    columns = sql_columns(table, lookup.columns, key=f"{key}.columns", table=lookup.table)
    if lookup.timestamp is None or lookup.max_age_hours is None:
        return rows.join(table.select(*lookup.by, *columns), lookup.by, "left")
    require_columns(table, [lookup.timestamp], table=lookup.table, key=f"{key}.timestamp")
    right = table.select(*lookup.by, F.col(lookup.timestamp).alias(_LOOKUP_TS), *columns)
    return asof_join(rows, right, key=cfg.row_key, by=lookup.by, left_ts=cfg.timestamp, right_ts=_LOOKUP_TS,
                     max_age_hours=lookup.max_age_hours, columns={c: c for c in lookup.columns})
