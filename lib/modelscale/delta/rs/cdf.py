"""Change data feed for the delta-rs engine, computed by Spark from the commits' own files.

For each commit in the range: ``cdc`` files when a writer recorded them; otherwise rows of the
added files not in the removed ones are inserts and the reverse are deletes (an update shows as
a delete plus an insert). Commits with ``dataChange=false`` (compaction) carry no changes.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import reduce
from typing import Any
from urllib.parse import unquote

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

from modelscale.delta.rs import storage
from modelscale.delta.rs.log import FileEntry
from modelscale.delta.rs.scan import scan
from modelscale.errors import TableError
from modelscale.local_frames import rows_frame

CHANGE_COLUMNS = StructType([
    StructField("_change_type", StringType()),
    StructField("_commit_version", LongType()),
    StructField("_commit_timestamp", TimestampType()),
])


def changes(spark: SparkSession, root: str, schema: StructType, partition_by: list[str], start: int,
            end: int) -> DataFrame:
    """Row changes of versions ``start``..``end`` with Delta's CDF columns."""
    frames = [_commit_changes(spark, root, schema, partition_by, v, _actions(root, v)) for v in range(start, end + 1)]
    frames = [f for f in frames if f is not None]
    if not frames:
        return rows_frame(spark, [], StructType(schema.fields + CHANGE_COLUMNS.fields))
    return reduce(DataFrame.unionByName, frames)


def _actions(root: str, version: int) -> list[dict[str, Any]]:
    fs, path = storage.filesystem(storage.join(root, f"_delta_log/{version:020d}.json"))
    try:
        with fs.open_input_stream(path) as f:
            return [json.loads(line) for line in f.read().decode().splitlines() if line.strip()]
    except FileNotFoundError:
        raise TableError(f"table at {root}: commit {version} is not in the log (cleaned up or never written); "
                         "change data is only available for retained commits") from None


def _entries(actions: list[dict[str, Any]], kind: str) -> list[FileEntry]:
    return [FileEntry(unquote(a[kind]["path"]), a[kind].get("size") or 0, a[kind].get("partitionValues") or {}, None)
            for a in actions if kind in a and a[kind].get("dataChange", True)]


def _commit_changes(spark: SparkSession, root: str, schema: StructType, partition_by: list[str], version: int,
                    actions: list[dict[str, Any]]) -> DataFrame | None:
    info = next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
    stamp = dt.datetime.fromtimestamp(info.get("timestamp", 0) / 1000, tz=dt.UTC)
    cdc, adds, removes = _entries(actions, "cdc"), _entries(actions, "add"), _entries(actions, "remove")
    if cdc:
        change_schema = StructType(schema.fields + [CHANGE_COLUMNS["_change_type"]])
        rows = scan(spark, root, change_schema, partition_by, cdc)
    elif adds or removes:
        added, removed = scan(spark, root, schema, partition_by, adds), scan(spark, root, schema, partition_by, removes)
        rows = (added.exceptAll(removed).withColumn("_change_type", F.lit("insert"))
                .unionByName(removed.exceptAll(added).withColumn("_change_type", F.lit("delete"))))
    else:
        return None
    return rows.withColumn("_commit_version", F.lit(version).cast(LongType())).withColumn(
        "_commit_timestamp", F.lit(stamp).cast(TimestampType()))
