"""The engine interface behind `Lakehouse`, and the choice between native Delta and delta-rs."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructField, StructType

from modelscale.catalog import TableRef
from modelscale.delta.model import CommitResult, TableInfo, Txn
from modelscale.errors import ConfigError
from modelscale.logs import get_logger

log = get_logger("delta")


class DeltaEngine(Protocol):
    """Path-level Delta operations; frames handed to writes already match the table's schema."""

    name: str
    # True when the engine itself skips a write whose Txn the table holds before writing any file (Delta's
    # idempotent writes); otherwise `Lakehouse` checks `txn_version` first.
    skips_applied_txns: bool

    def exists(self, ref: TableRef) -> bool: ...
    def schema(self, ref: TableRef) -> StructType | None: ...
    def create(self, ref: TableRef, schema: StructType) -> CommitResult: ...
    def read(self, ref: TableRef, *, version: int | None, timestamp: str | dt.datetime | None,
             where: str | None) -> DataFrame: ...
    def write(self, ref: TableRef, df: DataFrame, *, overwrite: bool, replace_where: str | None, txn: Txn | None,
              new_columns: list[StructField], metadata: dict[str, str]) -> CommitResult: ...
    def merge(self, ref: TableRef, source: DataFrame, keys: list[str], *, update_condition: str | None,
              delete_missing: bool, txn: Txn | None, new_columns: list[StructField],
              metadata: dict[str, str]) -> CommitResult: ...
    def version(self, ref: TableRef) -> int | None: ...
    def history(self, ref: TableRef, limit: int | None) -> list[dict]: ...
    def txn_version(self, ref: TableRef, app_id: str) -> int | None: ...
    def vacuum(self, ref: TableRef, retention_hours: int) -> list[str]: ...
    def optimize(self, ref: TableRef, where: str | None) -> CommitResult: ...
    def changes(self, ref: TableRef, starting_version: int, ending_version: int | None) -> DataFrame: ...
    def info(self, ref: TableRef) -> TableInfo: ...


def native_available(spark: SparkSession) -> bool:
    """True when Delta's SQL runs: describing a missing path fails with Delta's own error (without the jars or
    the SQL extension, Spark cannot parse or resolve it)."""
    try:
        spark.sql("DESCRIBE DETAIL delta.`/nonexistent/modelscale-delta-probe`").collect()
    except Exception as exc:
        return "DELTA_" in str(exc)
    return True


def select_engine(spark: SparkSession, preference: str, *, target_file_size_mb: int = 128,
                  max_open_files_per_task: int = 32) -> DeltaEngine:
    """``native`` when asked or when the Delta jars are usable under ``auto``; else delta-rs."""
    from modelscale.delta.native import NativeEngine
    from modelscale.delta.rs.engine import DeltaRsEngine

    if preference not in ("auto", "native", "delta-rs"):
        raise ConfigError(f"delta.engine is {preference!r}; expected auto, native or delta-rs")
    if preference == "native" or (preference == "auto" and native_available(spark)):
        log.info("Delta engine: native (format delta)")
        return NativeEngine(spark)
    if preference == "auto":
        log.info("Delta engine: delta-rs (the Delta jars are not on this session's classpath: `make setup` "
                 "fetches them)")
    else:
        log.info("Delta engine: delta-rs (delta.engine: delta-rs)")
    return DeltaRsEngine(spark, target_file_size_mb=target_file_size_mb,
                         max_open_files_per_task=max_open_files_per_task)
