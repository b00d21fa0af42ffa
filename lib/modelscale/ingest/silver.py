"""Bronze records to silver: the source's derived columns and the dedupe by primary key.

``derive`` adds columns declared as Spark SQL (e.g. a UTC timestamp from local date and time fields:
``to_utc_timestamp(try_make_timestamp_ntz(...), 'America/New_York')``). Dedupe keeps one record per primary
key by the source's dedupe rule, ties broken by a hash of the whole record so reruns pick the same row.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from modelscale.config.models import DedupeRule, SourceConfig
from modelscale.hooks import resolve_hook
from modelscale.key_repeats import KeySet, count_key_repeats
from modelscale.sql_columns import sql_columns

INGESTED_AT = "_ingested_at"
DEFAULT_ORDER = ["_ingested_at", "_source_file"]


def derive_columns(df: DataFrame, name: str, source: SourceConfig) -> dict[str, Column]:
    """The source's ``derive`` columns over ``df`` (its typed records); a `ConfigError` naming the key when one
    does not resolve, so ingest checks them before it writes anything."""
    return dict(zip(source.derive, sql_columns(df, source.derive, key=f"sources.{name}.derive",
                                               table=source.silver_table), strict=True))


def derived(df: DataFrame, name: str, source: SourceConfig) -> DataFrame:
    """``df`` with the source's ``derive`` columns, then its Python hook if it has one."""
    derive = derive_columns(df, name, source)
    out = df.withColumns(derive) if derive else df  # Spark Connect refuses an empty withColumns
    return resolve_hook(source.silver_transform)(out, source) if source.silver_transform else out


def dedupe(df: DataFrame, keys: list[str], rule: DedupeRule | None) -> DataFrame:
    """One row per ``keys``: the latest (or earliest) by the rule's ``order_by``.

    Checks first whether any key repeats (`key_repeats`; a hash collision only costs the ranking): ranking
    shuffles and sorts whole rows, which a batch without duplicates, the usual case, does not need.
    """
    if not count_key_repeats(df, KeySet(tuple(keys))):
        return df
    order_by = rule.order_by if rule else DEFAULT_ORDER
    desc = rule is None or rule.keep == "latest"
    ordering = [F.col(c).desc_nulls_last() if desc else F.col(c).asc_nulls_last() for c in order_by]
    ordering.append(F.xxhash64(*[F.col(c) for c in sorted(df.columns)]).desc())
    w = Window.partitionBy(*keys).orderBy(*ordering)
    return df.withColumn("_rank", F.row_number().over(w)).where(F.col("_rank") == 1).drop("_rank")


def to_silver(df: DataFrame, name: str, source: SourceConfig) -> DataFrame:
    """Derive the source's columns and dedupe bronze records by primary key."""
    return dedupe(derived(df, name, source).drop("_batch_date"), source.primary_key, source.dedupe)
