"""The ``ingest_log`` table: one row per landing file ingested, written last in a batch."""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple, dataclass

from pyspark.sql import SparkSession
from pyspark.sql.types import DateType, LongType, StringType, StructField, StructType, TimestampType

from modelscale.config.models import INGEST_LOG
from modelscale.delta import CommitResult, Lakehouse, Txn
from modelscale.local_frames import rows_frame
from modelscale.sql_text import predicate_string

TABLE = INGEST_LOG

SCHEMA = StructType([
    StructField("source", StringType(), False),
    StructField("path", StringType(), False),
    StructField("size", LongType(), False),
    StructField("modified_at", TimestampType(), False),
    StructField("checksum", StringType(), False),
    StructField("rows_read", LongType(), False),
    StructField("rows_accepted", LongType(), False),
    StructField("rows_quarantined", LongType(), False),
    StructField("batch_id", StringType(), False),
    StructField("batch_date", DateType(), False),
    StructField("run_id", StringType(), False),
    StructField("ingested_at", TimestampType(), False),
    StructField("bronze_version", LongType(), True),
    StructField("quarantine_version", LongType(), True),
    StructField("silver_version", LongType(), True),
])


@dataclass(frozen=True)
class LogEntry:
    """One ingested file (fields as in `SCHEMA`)."""

    source: str
    path: str
    size: int
    modified_at: dt.datetime
    checksum: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    batch_id: str
    batch_date: dt.date
    run_id: str
    ingested_at: dt.datetime
    bronze_version: int | None
    quarantine_version: int | None
    silver_version: int | None


def known_checksums(lakehouse: Lakehouse, paths: list[str]) -> dict[tuple[str, str], str]:
    """Checksum recorded per (source, path) for those of ``paths`` already ingested (bounded by ``paths``)."""
    if not paths or not lakehouse.exists(TABLE):
        return {}
    rows = (
        lakehouse.read(TABLE, where=f"path IN ({', '.join(predicate_string(p) for p in sorted(set(paths)))})")
        .select("source", "path", "checksum", "ingested_at")
        .orderBy("ingested_at")
        .collect()
    )
    return {(r["source"], r["path"]): r["checksum"] for r in rows}


def record(spark: SparkSession, lakehouse: Lakehouse, entries: list[LogEntry], txn: Txn) -> CommitResult:
    """Append the run's entries (idempotent through ``txn``)."""
    df = rows_frame(spark, [astuple(e) for e in entries], SCHEMA)
    return lakehouse.append(TABLE, df, txn=txn)

