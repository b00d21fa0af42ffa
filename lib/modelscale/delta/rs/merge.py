"""Merge by keys as one Spark plan: the touched target files joined with the source, row by row.

Each output row is tagged U (updated), I (inserted), C (copied unchanged) or D (deleted);
the tagged rows are persisted for the write and their tags counted from that copy. (An `Observation`
would count during the write, but in Spark 4.1 it leaves the session unserializable, which breaks a
later MLlib fit in the same application: "Task not serializable: ObservationManager".)
"""

from __future__ import annotations

from dataclasses import replace

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from modelscale.caching import persisted
from modelscale.delta.model import CommitResult

_METRICS = {"rows_updated": "U", "rows_inserted": "I", "rows_deleted": "D", "rows_copied": "C"}


def merged_rows(target: DataFrame, source: DataFrame, keys: list[str], *, update_condition: str | None,
                delete_missing: bool, new_columns: list[str]) -> tuple[DataFrame, dict[str, int]]:
    """The rows replacing ``target`` (touched files) after merging ``source``, and their tag counts.

    The returned frame is persisted (`modelscale.caching`) and still carries ``__action``: write
    `surviving(rows)` and `release` ``rows`` afterwards.
    """
    t = target.withColumn("__t", F.lit(True)).alias("t")
    s = source.withColumn("__s", F.lit(True)).alias("s")
    joined = t.join(s, [F.col(f"t.{k}") == F.col(f"s.{k}") for k in keys], "full_outer")
    matched = F.col("t.__t").isNotNull() & F.col("s.__s").isNotNull()
    wins = F.expr(f"({update_condition})").eqNullSafe(True) if update_condition else F.lit(True)
    action = (F.when(matched & wins, "U").when(matched, "C")
              .when(F.col("t.__t").isNotNull(), "D" if delete_missing else "C").otherwise("I"))
    from_source = F.col("__action").isin("U", "I")
    tagged = joined.withColumn("__action", action)
    cols: list[Column] = [
        F.when(from_source, F.col(f"s.{c}")).otherwise(F.col(f"t.{c}")).alias(c) for c in target.columns
    ]
    cols += [F.when(from_source, F.col(f"s.{c}")).alias(c) for c in new_columns]
    rows = persisted(tagged.select(*cols, "__action"), StorageLevel.MEMORY_AND_DISK)
    counts = rows.agg(*[F.count_if(F.col("__action") == tag).alias(name) for name, tag in _METRICS.items()]).first()
    return rows, {n: int(counts[n] or 0) for n in _METRICS}


def inserts_only(rows: int) -> dict[str, int]:
    """The metrics of a merge whose source touched no target row: ``rows`` inserted."""
    return {name: rows if tag == "I" else 0 for name, tag in _METRICS.items()}


def surviving(rows: DataFrame) -> DataFrame:
    """The merged rows that stay in the table (all but the deleted ones)."""
    return rows.filter(F.col("__action") != "D").drop("__action")


def with_metrics(result: CommitResult, metrics: dict[str, int]) -> CommitResult:
    """``result`` with the merge's row counts (none when nothing was committed)."""
    return replace(result, metrics=metrics if result.committed else {})
