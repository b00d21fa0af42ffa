"""The native engine: Delta Lake's own Spark implementation (``format("delta")`` and Delta SQL), where its
jars are on the classpath (Databricks, clusters, and local sessions once `make setup` fetched them).

Everything goes through DataFrame reads/writes with options and Delta SQL (``MERGE INTO``, ``DESCRIBE
HISTORY``, ``OPTIMIZE``), never ``delta.tables.DeltaTable``: on Spark Connect that Python API needs Delta's
Connect plugin on the server, SQL needs only the Delta SQL extension, so this engine runs unchanged on a
classic session, a Spark Connect server and Databricks serverless. Paths are addressed as
``delta.`<path>```, catalog names as they are.

Each write records its metadata as Delta's ``userMetadata`` (JSON) with a write id, which finds the
write's own commit in the history afterwards even when other writers commit concurrently.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from deltalake import DeltaTable
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import LongType, StringType, StructField, StructType

from modelscale.catalog import TableRef
from modelscale.delta.model import CommitResult, TableInfo, Txn
from modelscale.delta.schema import holds, unique_keys
from modelscale.errors import ConcurrentWriteError, TableError
from modelscale.sql_text import ident, string

WRITE_ID_KEY = "modelscale.write_id"  # in userMetadata: finds a write's commit in the history
_MISSING = ("DELTA_MISSING_DELTA_TABLE", "DELTA_TABLE_NOT_FOUND", "DELTA_TABLE_ONLY_OPERATION", "PATH_NOT_FOUND",
            "TABLE_OR_VIEW_NOT_FOUND")
# delta-io/delta#4776: Delta 4.x on Spark 4 fails to analyse BETWEEN in a replaceWhere (INTERNAL_ERROR). The
# simple shape (a column between two literals) is rewritten to the equivalent pair of comparisons.
_LITERAL = r"(?:(?:DATE|TIMESTAMP)\s*)?'[^']*'|-?\d+(?:\.\d+)?"
_BETWEEN = re.compile(rf"(?<!NOT )(`[^`]+`|\b(?!NOT\b)[A-Za-z_]\w*)\s+BETWEEN\s+({_LITERAL})\s+AND\s+({_LITERAL})",
                      re.IGNORECASE)
_CONFLICTS = re.compile(r"\[(DELTA_CONCURRENT_\w+|DELTA_METADATA_CHANGED|DELTA_PROTOCOL_CHANGED)(?:\.\w+)?\] ?([^\n]*)")
# Session confs a MERGE reads at commit time (it has no per-statement options): one MERGE per session at a time.
_SESSION_CONF_LOCK = threading.Lock()
T = TypeVar("T")


class NativeEngine:
    name = "native"
    skips_applied_txns = True  # Delta checks txnAppId/txnVersion before it writes (reading them costs two scans)

    def __init__(self, spark: SparkSession) -> None:
        self._spark = spark

    # ------------------------------------------------------------------ table state

    def exists(self, ref: TableRef) -> bool:
        return self.schema(ref) is not None

    def schema(self, ref: TableRef) -> StructType | None:
        try:
            return self._load(ref).schema
        except AnalysisException as exc:
            if any(code in str(exc) for code in _MISSING):
                return None
            raise

    def version(self, ref: TableRef) -> int | None:
        """The table's latest version. A table in a folder this process sees has it read from its log by
        delta-rs in a millisecond; Delta's DESCRIBE HISTORY is a Spark job (~0.2 s), and each job run records
        the version of every table before and after (the operations log)."""
        folder = _local_folder(ref)
        if folder is not None and os.path.isdir(os.path.join(folder, "_delta_log")):
            try:
                return DeltaTable(folder).version()
            except Exception:  # a log delta-rs cannot read (a newer protocol): Delta answers below
                pass
        try:
            return int(self._sql(f"DESCRIBE HISTORY {self._sql_name(ref)} LIMIT 1").first().version)
        except AnalysisException as exc:
            if any(code in str(exc) for code in _MISSING):
                return None
            raise

    def txn_version(self, ref: TableRef, app_id: str) -> int | None:
        """Highest ``txn`` action version for ``app_id`` in the log's commits and checkpoints (Delta has no
        SQL for it; the log's JSON and checkpoint files are read as data)."""
        if not self.exists(ref):
            return None
        location = self._sql(f"DESCRIBE DETAIL {self._sql_name(ref)}").first().location
        txn = StructType([StructField("txn", StructType([StructField("appId", StringType()),
                                                         StructField("version", LongType())]))])
        found = []
        for read, pattern in ((self._spark.read.schema(txn).json, "*.json"),
                              (self._spark.read.schema(txn).parquet, "*.checkpoint*.parquet")):
            try:
                row = (read(f"{location}/_delta_log/{pattern}").where(f"txn.appId = {string(app_id)}")
                       .selectExpr("max(txn.version) as v").first())
            except AnalysisException:  # no checkpoint yet
                continue
            if row is not None and row.v is not None:
                found.append(row.v)
        return max(found) if found else None

    def history(self, ref: TableRef, limit: int | None) -> list[dict[str, Any]]:
        rows = self._sql(f"DESCRIBE HISTORY {self._sql_name(ref)}{f' LIMIT {int(limit)}' if limit else ''}").collect()
        return [row.asDict(recursive=True) for row in rows]

    def info(self, ref: TableRef) -> TableInfo:
        d = self._sql(f"DESCRIBE DETAIL {self._sql_name(ref)}").first()
        rows = self._load(ref).count()  # answered from the log's file statistics, no data scan
        return TableInfo(ref.name, ref.location, self.version(ref), int(d.numFiles), rows, list(d.partitionColumns))

    # ------------------------------------------------------------------ create / read

    def create(self, ref: TableRef, schema: StructType) -> CommitResult:
        columns = ", ".join(f"{ident(f.name)} {f.dataType.simpleString()}{'' if f.nullable else ' NOT NULL'}"
                            for f in schema.fields)
        partitioned = f" PARTITIONED BY ({', '.join(ident(c) for c in ref.partition_by)})" if ref.partition_by else ""
        props = ref.config.properties
        properties = (f" TBLPROPERTIES ({', '.join(f'{string(k)} = {string(v)}' for k, v in props.items())})"
                      if props else "")
        self._sql(f"CREATE TABLE {self._sql_name(ref)} ({columns}) USING delta{partitioned}{properties}")
        for cname, sql in ref.config.constraints.items():
            self._sql(f"ALTER TABLE {self._sql_name(ref)} ADD CONSTRAINT {ident(cname)} CHECK ({sql})")
        return CommitResult(ref.name, self.version(ref), True, "CREATE TABLE")

    def read(self, ref: TableRef, *, version: int | None = None, timestamp: str | dt.datetime | None = None,
             where: str | None = None) -> DataFrame:
        options = {"versionAsOf": str(version)} if version is not None else \
            {"timestampAsOf": str(timestamp)} if timestamp is not None else {}
        df = self._load(ref, options)
        return df.filter(where) if where else df

    def changes(self, ref: TableRef, starting_version: int, ending_version: int | None) -> DataFrame:
        properties = self._sql(f"DESCRIBE DETAIL {self._sql_name(ref)}").first().properties or {}
        if properties.get("delta.enableChangeDataFeed", "false").lower() != "true":
            raise TableError(f"table {ref.name} at {ref.location}: change data feed is not enabled "
                             "(set table property delta.enableChangeDataFeed=true)")
        options = {"readChangeFeed": "true", "startingVersion": str(starting_version)}
        if ending_version is not None:
            options["endingVersion"] = str(ending_version)
        return self._load(ref, options)

    # ------------------------------------------------------------------ writes

    def write(self, ref: TableRef, df: DataFrame, *, overwrite: bool, replace_where: str | None, txn: Txn | None,
              new_columns: list[StructField], metadata: dict[str, str]) -> CommitResult:
        return self._save(ref, df, overwrite=overwrite, replace_where=replace_where, txn=txn,
                          merge_schema=bool(new_columns), metadata=metadata)

    def write_new(self, ref: TableRef, df: DataFrame, *, operation: str, replace_where: str | None,
                  txn: Txn | None, metadata: dict[str, str]) -> CommitResult:
        """First write to a missing table: Delta creates it with the write's files in ONE commit, partitioned
        and with the table's properties (``delta.*`` write options become table properties)."""
        return self._save(ref, df, overwrite=operation != "WRITE", replace_where=replace_where, txn=txn,
                          merge_schema=False, metadata=metadata, create=True)

    def merge(self, ref: TableRef, source: DataFrame, keys: list[str], *, update_condition: str | None,
              delete_missing: bool, txn: Txn | None, new_columns: list[StructField],
              metadata: dict[str, str]) -> CommitResult:
        view = f"modelscale_merge_{uuid.uuid4().hex}"
        unique_keys(source, keys, ref.name).createOrReplaceTempView(view)
        matched = f"WHEN MATCHED{f' AND ({update_condition})' if update_condition else ''} THEN UPDATE SET *"
        by_source = " WHEN NOT MATCHED BY SOURCE THEN DELETE" if delete_missing else ""
        sql = (f"MERGE{' WITH SCHEMA EVOLUTION' if new_columns else ''} INTO {self._sql_name(ref)} t "
               f"USING {ident(view)} s ON {' AND '.join(f't.{ident(k)} = s.{ident(k)}' for k in keys)} "
               f"{matched} WHEN NOT MATCHED THEN INSERT *{by_source}")
        write_id = uuid.uuid4().hex
        conf = {"spark.databricks.delta.commitInfo.userMetadata": _user_metadata(metadata, write_id)}
        if txn:
            conf |= {"spark.databricks.delta.write.txnAppId": txn.app_id,
                     "spark.databricks.delta.write.txnVersion": str(txn.version)}
        try:
            with _session_conf(self._spark, conf):
                self._checked(ref, "MERGE", lambda: self._sql(sql).collect())
        finally:
            self._spark.catalog.dropTempView(view)
        result = self._result(ref, write_id, "MERGE")
        m = result.metrics
        return CommitResult(result.table, result.version, result.committed, "MERGE",
                            rows_written=int(m.get("numOutputRows", 0)),
                            files_added=int(m.get("numTargetFilesAdded", 0)),
                            files_removed=int(m.get("numTargetFilesRemoved", 0)),
                            metrics={name: int(m.get(key, 0)) for name, key in (
                                ("rows_updated", "numTargetRowsUpdated"), ("rows_inserted", "numTargetRowsInserted"),
                                ("rows_deleted", "numTargetRowsDeleted"), ("rows_copied", "numTargetRowsCopied"))}
                            if result.committed else {})

    def vacuum(self, ref: TableRef, retention_hours: int) -> list[str]:
        name = self._sql_name(ref)
        with _session_conf(self._spark, {"spark.databricks.delta.retentionDurationCheck.enabled": "false"}):
            retain = f"RETAIN {int(retention_hours)} HOURS"
            files = [r[0] for r in self._sql(f"VACUUM {name} {retain} DRY RUN").collect()]
            self._sql(f"VACUUM {name} {retain}").collect()
        return files

    def optimize(self, ref: TableRef, where: str | None) -> CommitResult:
        before = self.version(ref)
        self._checked(ref, "OPTIMIZE",
                      lambda: self._sql(f"OPTIMIZE {self._sql_name(ref)}{f' WHERE {where}' if where else ''}").collect())
        after = self.version(ref)
        if after == before:
            return CommitResult(ref.name, after, False, "OPTIMIZE")
        m = self.history(ref, 1)[0].get("operationMetrics") or {}
        return CommitResult(ref.name, after, True, "OPTIMIZE", files_added=int(m.get("numAddedFiles", 0)),
                            files_removed=int(m.get("numRemovedFiles", 0)))

    # ------------------------------------------------------------------ helpers

    def _save(self, ref: TableRef, df: DataFrame, *, overwrite: bool, replace_where: str | None, txn: Txn | None,
              merge_schema: bool, metadata: dict[str, str], create: bool = False) -> CommitResult:
        operation = "REPLACE WHERE" if replace_where else "OVERWRITE" if overwrite else "WRITE"
        if replace_where:  # the same clear error on both engines (Delta's own check stays on)
            df = df.filter(holds(replace_where, f"table {ref.name}: replace_where rows must satisfy {replace_where}"))
        write_id = uuid.uuid4().hex
        options = {"userMetadata": _user_metadata(metadata, write_id)}
        if replace_where:
            options["replaceWhere"] = _BETWEEN.sub(r"(\1 >= \2 AND \1 <= \3)", replace_where)
        if txn:
            options |= {"txnAppId": txn.app_id, "txnVersion": str(txn.version)}
        if merge_schema:
            options["mergeSchema"] = "true"
        writer = df.write.format("delta").mode("overwrite" if overwrite or replace_where else "append")
        if create:
            options |= ref.config.properties
            if ref.partition_by:
                writer = writer.partitionBy(*ref.partition_by)
        writer = writer.options(**options)
        self._checked(ref, operation, lambda: writer.saveAsTable(ref.location) if ref.is_catalog_name
                      else writer.save(ref.location))
        result = self._result(ref, write_id, operation)
        m = result.metrics
        return CommitResult(result.table, result.version, result.committed, operation,
                            rows_written=int(m.get("numOutputRows", 0)), files_added=int(m.get("numFiles", 0)),
                            files_removed=int(m.get("numRemovedFiles", 0)))

    def _result(self, ref: TableRef, write_id: str, operation: str) -> CommitResult:
        """The commit our write made (found by its write id among the newest), or none when Delta skipped it
        (its Txn was already in the table); ``metrics`` holds Delta's operation metrics."""
        for entry in self.history(ref, 20):
            try:
                ours = json.loads(entry.get("userMetadata") or "{}").get(WRITE_ID_KEY) == write_id
            except (ValueError, AttributeError):
                ours = False
            if ours:
                return CommitResult(ref.name, int(entry["version"]), True, operation,
                                    metrics=entry.get("operationMetrics") or {})
        return CommitResult(ref.name, self.version(ref), False, operation)

    def _load(self, ref: TableRef, options: dict[str, str] | None = None) -> DataFrame:
        reader = self._spark.read.format("delta").options(**(options or {}))
        return reader.table(ref.location) if ref.is_catalog_name else reader.load(ref.location)

    def _sql_name(self, ref: TableRef) -> str:
        return ref.location if ref.is_catalog_name else f"delta.{ident(ref.location)}"

    def _sql(self, text: str) -> DataFrame:
        return self._spark.sql(text)

    def _checked(self, ref: TableRef, operation: str, action: Callable[[], T]) -> T:
        """Run ``action``; Delta's constraint and conflict errors become our errors naming the table."""
        try:
            return action()
        except Exception as exc:
            translated = _translate(exc, ref.name, operation)
            if translated is None:
                raise
            raise translated from None


def _local_folder(ref: TableRef) -> str | None:
    """The table's folder when its location is a local path or ``file:`` URI, else None."""
    if ref.is_catalog_name:
        return None
    if ref.location.startswith("file:"):
        return "/" + ref.location.removeprefix("file:").lstrip("/")
    return None if "://" in ref.location else os.path.abspath(ref.location)


def _user_metadata(metadata: dict[str, str], write_id: str) -> str:
    """Commit metadata as Delta's userMetadata (JSON), as the delta-rs engine records it too."""
    return json.dumps({**metadata, WRITE_ID_KEY: write_id}, sort_keys=True)


def _translate(exc: Exception, table: str, operation: str) -> TableError | None:
    """Delta's errors a user acts on, as one line naming the table; None for any other error."""
    text = str(exc)
    conflict = _CONFLICTS.search(text)
    if conflict:
        detail = conflict.group(2).split(" Refer to ")[0].split(" SQLSTATE:")[0].strip()
        return ConcurrentWriteError(f"table {table}: {operation} conflicts with a concurrent commit "
                                    f"({conflict.group(1)}: {detail}); nothing was committed, re-run the operation")
    not_null = re.search(r"NOT NULL constraint violated for column: ([^\s.]+)", text)
    if not_null:
        return TableError(f"table {table}: NOT NULL column {not_null.group(1)} got a null")
    check = re.search(r"CHECK constraint (\S+) \((.*)\) violated by row with values:(.*)", text)
    if check:
        return TableError(f"table {table}: CHECK constraint {check.group(1)} ({check.group(2)}) is violated "
                          f"by a row with values{check.group(3).rstrip()}")
    return None


@contextmanager
def _session_conf(spark: SparkSession, conf: dict[str, str]) -> Iterator[None]:
    """``conf`` set on the session for the block, then the previous values back; one block per session at a
    time."""
    with _SESSION_CONF_LOCK:
        previous = {key: spark.conf.get(key, None) for key in conf}
        for key, value in conf.items():
            spark.conf.set(key, value)
        try:
            yield
        finally:
            for key, value in previous.items():
                if value is None:
                    spark.conf.unset(key)
                else:
                    spark.conf.set(key, value)
