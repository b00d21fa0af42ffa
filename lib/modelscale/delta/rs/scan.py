"""Spark reads of a Delta snapshot's files, with partition values taken from the log.

Fast path: files in the Spark-style hive folder their log values imply, for types whose folder
text Spark parses back exactly, are read in one scan with ``basePath`` (Spark prunes partitions
from the query's filters). Any other file (another writer's layout, timestamp or decimal
partition columns) is read per partition group with the values from the log as literals.
"""

from __future__ import annotations

from collections import defaultdict
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (BooleanType, ByteType, DateType, IntegerType, LongType, ShortType, StringType,
                               StructType)

from modelscale.delta.rs import partitions, storage
from modelscale.delta.rs.log import FileEntry
from modelscale.local_frames import rows_frame

_FOLDER_SAFE_TYPES = (StringType, LongType, IntegerType, ShortType, ByteType, DateType, BooleanType)


def scan(spark: SparkSession, root: str, schema: StructType, partition_by: list[str],
         entries: list[FileEntry]) -> DataFrame:
    """The rows of ``entries`` with ``schema``.

    Without entries, an empty local relation: Spark then knows the frame is empty and prunes the joins
    and unions it takes part in (a list-built empty frame runs Python tasks and real joins)."""
    root = root.rstrip("/")
    if not entries:
        return rows_frame(spark, [], schema)
    if not partition_by:
        return spark.read.schema(schema).parquet(*[storage.join(root, e.path) for e in entries])
    safe = all(isinstance(schema[c].dataType, _FOLDER_SAFE_TYPES) for c in partition_by)
    fast, other = [], []
    for e in entries:
        (fast if safe and _in_own_folder(e, partition_by) else other).append(e)
    frames = []
    if fast:
        frames.append(
            spark.read.schema(schema).option("basePath", root)
            .parquet(*[storage.join(root, e.path) for e in fast])
            .select(*schema.fieldNames())
        )
    frames += _by_partition_group(spark, root, schema, partition_by, other)
    return reduce(DataFrame.unionByName, frames)


def _in_own_folder(entry: FileEntry, partition_by: list[str]) -> bool:
    folder = entry.path.rsplit("/", 1)[0] if "/" in entry.path else ""
    return folder == partitions.hive_dir(partition_by, entry.partition_values)


def _by_partition_group(spark: SparkSession, root: str, schema: StructType, partition_by: list[str],
                        entries: list[FileEntry]) -> list[DataFrame]:
    groups: dict[tuple[str | None, ...], list[str]] = defaultdict(list)
    for e in entries:
        groups[tuple(e.partition_values.get(c) for c in partition_by)].append(storage.join(root, e.path))
    data_schema = StructType([f for f in schema.fields if f.name not in partition_by])
    frames = []
    for values, paths in groups.items():
        literals = {c: F.lit(v).cast(schema[c].dataType) for c, v in zip(partition_by, values, strict=True)}
        df = spark.read.schema(data_schema).parquet(*paths)
        frames.append(df.select(*[literals.get(f.name, F.col(f.name)).alias(f.name) for f in schema.fields]))
    return frames
