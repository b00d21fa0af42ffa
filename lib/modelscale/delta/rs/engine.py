"""The delta-rs engine: every write is one Spark job writing parquet files (Spark's own writer for an
unpartitioned table, the ``modelscale_delta`` source for a partitioned one) plus one delta-rs commit
against the snapshot the job read."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import uuid
from collections import defaultdict
from dataclasses import asdict
from typing import Any
from urllib.parse import unquote

from deltalake import DeltaTable, Schema
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (ByteType, DateType, IntegerType, LongType, ShortType, StringType, StructField,
                               StructType)

from modelscale.caching import release
from modelscale.catalog import TableRef
from modelscale.config.paths import is_storage_uri
from modelscale.delta.model import OPERATION_KEY, CommitResult, TableInfo, Txn
from modelscale.delta.rs import cdf, log, spark_files, storage
from modelscale.delta.rs import merge as merge_plan
from modelscale.delta.rs.commit import check_writable
from modelscale.delta.rs.scan import scan
from modelscale.delta.rs.source import NAME, DeltaRsDataSource
from modelscale.delta.schema import constraints_of, enforce, holds, unique_keys
from modelscale.errors import ConcurrentWriteError, SchemaMismatchError, TableError
from modelscale.local_frames import rows_frame
from modelscale.storage import s3

_ERRORS: dict[str, type[TableError]] = {
    "ConcurrentWriteError": ConcurrentWriteError,
    "SchemaMismatchError": SchemaMismatchError,
    "TableError": TableError,
}


WRITE_FOLDER_PREFIX = "write-"  # an unpartitioned table's files: one folder per write under the root
# Key types whose file statistics are exact and compare in Python as in Spark: they may skip a MERGE's files.
_EXACT_STATS = (ByteType, ShortType, IntegerType, LongType, DateType)


class DeltaRsEngine:
    """Delta tables on paths/URIs without the Delta jars."""

    name = "delta-rs"
    skips_applied_txns = False  # its commit checks too, but only after the Spark job wrote the files

    def __init__(self, spark: SparkSession, *, target_file_size_mb: int = 128,
                 max_open_files_per_task: int = 32) -> None:
        self._spark = spark
        self._target_bytes = target_file_size_mb * 1024 * 1024
        self._max_open = max_open_files_per_task
        spark.dataSource.register(DeltaRsDataSource)
        spark.conf.set(*spark_files.TIMESTAMP_CONF)

    # ------------------------------------------------------------------ table state

    def exists(self, ref: TableRef) -> bool:
        return log.open_table(self._root(ref)) is not None

    def schema(self, ref: TableRef) -> StructType | None:
        table = log.open_table(self._root(ref))
        return log.spark_schema(table) if table else None

    def version(self, ref: TableRef) -> int | None:
        table = log.open_table(self._root(ref))
        return table.version() if table else None

    def txn_version(self, ref: TableRef, app_id: str) -> int | None:
        table = log.open_table(self._root(ref))
        return table.transaction_version(app_id) if table else None

    def history(self, ref: TableRef, limit: int | None) -> list[dict[str, Any]]:
        entries = self._table(ref).history(limit)
        for e in entries:  # a commit delta-rs made on remote storage names the real operation under our key
            if OPERATION_KEY in e:
                e["operation"] = e.pop(OPERATION_KEY)
        return entries

    def info(self, ref: TableRef) -> TableInfo:
        table = self._table(ref)
        entries = log.active_files(table)
        counts = [e.num_records for e in entries]
        return TableInfo(ref.name, ref.location, table.version(), len(entries),
                         None if None in counts else sum(c or 0 for c in counts),
                         table.metadata().partition_columns)

    # ------------------------------------------------------------------ create / read

    def create(self, ref: TableRef, schema: StructType) -> CommitResult:
        root = self._root(ref)
        table = DeltaTable.create(root, Schema.from_json(schema.json()), partition_by=ref.partition_by or None,
                                  configuration=ref.config.properties or None, storage_options=storage.options(root))
        if ref.config.constraints:
            table.alter.add_constraint(dict(ref.config.constraints))
        return CommitResult(ref.name, table.version(), True, "CREATE TABLE")

    def read(self, ref: TableRef, *, version: int | None = None, timestamp: str | dt.datetime | None = None,
             where: str | None = None) -> DataFrame:
        table = self._table(ref, version=version, timestamp=timestamp)
        df = self._scan(table, log.active_files(table, where))
        return df.filter(where) if where else df

    def changes(self, ref: TableRef, starting_version: int, ending_version: int | None) -> DataFrame:
        table = self._table(ref)
        if table.metadata().configuration.get("delta.enableChangeDataFeed", "false").lower() != "true":
            raise TableError(f"table {ref.name} at {ref.location}: change data feed is not enabled "
                             "(set table property delta.enableChangeDataFeed=true)")
        return cdf.changes(self._spark, self._root(ref), log.spark_schema(table), table.metadata().partition_columns,
                           starting_version, table.version() if ending_version is None else ending_version)

    # ------------------------------------------------------------------ writes

    def write(self, ref: TableRef, df: DataFrame, *, overwrite: bool, replace_where: str | None, txn: Txn | None,
              new_columns: list[StructField], metadata: dict[str, str]) -> CommitResult:
        table = self._table(ref)
        removes: list[log.FileEntry] = []
        operation = "WRITE"
        if replace_where:
            operation = "REPLACE WHERE"
            df = df.filter(holds(replace_where, f"table {ref.name}: replace_where rows must satisfy {replace_where}"))
            removes = log.active_files(table, replace_where)
            straddling = self._straddling(table, removes, replace_where)
            if straddling:  # their rows outside the predicate are written again
                kept = self._scan(table, straddling).filter(~F.coalesce(F.expr(f"({replace_where})"), F.lit(False)))
                df = df.unionByName(kept, allowMissingColumns=True)
        elif overwrite:
            operation = "OVERWRITE"
            removes = log.active_files(table)
        df = enforce(df, log.spark_schema(table), constraints_of(table.metadata().configuration), ref.name)
        return self._commit_job(ref, table, df, operation, removes, txn, new_columns, metadata,
                                details={"predicate": replace_where})

    def write_new(self, ref: TableRef, df: DataFrame, *, operation: str, replace_where: str | None,
                  txn: Txn | None, metadata: dict[str, str]) -> CommitResult:
        """First write to a missing table: the table is created with the job's files in ONE commit
        (version 0) from ``df``'s schema and the table's config (partitioning, properties)."""
        if replace_where:
            df = df.filter(holds(replace_where, f"table {ref.name}: replace_where rows must satisfy {replace_where}"))
        schema = df.schema
        df = enforce(df, schema, {}, ref.name)
        create = {"schema": schema.json(), "partition_by": list(ref.partition_by),
                  "configuration": dict(ref.config.properties)}
        return self._commit_job(ref, None, df, operation, [], txn, [], metadata, create=create,
                                details={"predicate": replace_where})

    def merge(self, ref: TableRef, source: DataFrame, keys: list[str], *, update_condition: str | None,
              delete_missing: bool, txn: Txn | None, new_columns: list[StructField],
              metadata: dict[str, str]) -> CommitResult:
        table = self._table(ref)
        entries = log.active_files(table)
        schema, constraints = log.spark_schema(table), constraints_of(table.metadata().configuration)
        bounds = {} if delete_missing else self._key_bounds(table, schema, source, keys)
        touched = entries if delete_missing else self._files_with_keys(table, entries, source, keys, bounds)
        source = unique_keys(source, keys, ref.name)
        ranges = {k: [_json_value(lo), _json_value(hi)] for k, (lo, hi) in bounds.items() if lo is not None}
        details = {"merge": {"keys": keys, "update_condition": update_condition, "delete_missing": delete_missing,
                             "key_ranges": ranges if len(ranges) == len(bounds) else {}}}
        if not touched:  # every source row is an insert: no join, no persisted copy; the write counts them
            inserts = enforce(source.select(*schema.fieldNames(), *[f.name for f in new_columns]), schema,
                              constraints, ref.name)
            result = self._commit_job(ref, table, inserts, "MERGE", [], txn, new_columns, metadata, details=details)
            return merge_plan.with_metrics(result, merge_plan.inserts_only(result.rows_written))
        rows, metrics = merge_plan.merged_rows(self._scan(table, touched), source, keys,
                                               update_condition=update_condition, delete_missing=delete_missing,
                                               new_columns=[f.name for f in new_columns])
        details["merge"]["metrics"] = metrics
        try:
            checked = enforce(merge_plan.surviving(rows), schema, constraints, ref.name)
            result = self._commit_job(ref, table, checked, "MERGE", touched, txn, new_columns, metadata,
                                      details=details)
        finally:
            release(rows)
        return merge_plan.with_metrics(result, metrics)

    def optimize(self, ref: TableRef, where: str | None) -> CommitResult:
        table = self._table(ref)
        groups: dict[tuple[Any, ...], list[log.FileEntry]] = defaultdict(list)
        for e in log.active_files(table, where):
            if e.size < self._target_bytes:
                groups[tuple(sorted(e.partition_values.items(), key=lambda kv: kv[0]))].append(e)
        small = [e for group in groups.values() if len(group) > 1 for e in group]
        if not small:
            return CommitResult(ref.name, table.version(), False, "OPTIMIZE")
        partition_by = table.metadata().partition_columns
        n = max(1, math.ceil(sum(e.size for e in small) / self._target_bytes))
        df = self._scan(table, small)
        df = df.repartition(n, *partition_by) if partition_by else df.repartition(n)
        return self._commit_job(ref, table, df, "OPTIMIZE", small, None, [], {}, data_change=False,
                                details={"predicate": where})

    def vacuum(self, ref: TableRef, retention_hours: int) -> list[str]:
        return self._table(ref).vacuum(retention_hours, dry_run=False, enforce_retention_duration=False, full=True)

    # ------------------------------------------------------------------ helpers

    def _root(self, ref: TableRef) -> str:
        if ref.is_catalog_name:
            raise TableError(f"table {ref.name}: {ref.location} is a catalog name; the delta-rs engine needs a "
                             "path or storage URI (set tables.{name}.location or use the native engine)")
        return ref.location if is_storage_uri(ref.location) else os.path.abspath(ref.location)

    def _table(self, ref: TableRef, **at: Any) -> DeltaTable:
        table = log.open_table(self._root(ref), **at)
        if table is None:
            raise TableError(f"table {ref.name} does not exist at {ref.location}")
        return table

    def _scan(self, table: DeltaTable, entries: list[log.FileEntry]) -> DataFrame:
        return scan(self._spark, _plain_root(table), log.spark_schema(table), table.metadata().partition_columns,
                    entries)

    def _straddling(self, table: DeltaTable, entries: list[log.FileEntry], where: str) -> list[log.FileEntry]:
        """The files of ``entries`` that may hold rows outside ``where``: all of them, unless ``where`` reads
        partition columns only; then those whose partition values fail it (a tiny local frame of the distinct
        values decides, with Spark's own semantics), so replacing whole partitions rewrites nothing."""
        partition_by = table.metadata().partition_columns
        if not partition_by or not entries:
            return entries
        def values_of(e: log.FileEntry) -> tuple[str | None, ...]:
            return tuple(e.partition_values.get(c) for c in partition_by)

        schema = log.spark_schema(table)
        values = list({values_of(e) for e in entries})
        raw = [f"_v{i}" for i in range(len(partition_by))]
        frame = rows_frame(self._spark, values, StructType([StructField(r, StringType()) for r in raw]))
        typed = frame.select(*raw, *[F.col(r).cast(schema[c].dataType).alias(c)
                                     for r, c in zip(raw, partition_by, strict=True)])
        try:
            outside = typed.where(~F.coalesce(F.expr(f"({where})"), F.lit(False))).select(*raw).collect()
        except AnalysisException:  # the predicate reads a data column: any file may hold rows outside it
            return entries
        failing = {tuple(row) for row in outside}
        return [e for e in entries if values_of(e) in failing]

    def _files_with_keys(self, table: DeltaTable, entries: list[log.FileEntry], source: DataFrame, keys: list[str],
                         bounds: dict[str, tuple[Any, Any]]) -> list[log.FileEntry]:
        """Files holding a key of ``source``: a semi-join reading only key columns and the file path, over
        the files whose key statistics do not rule every source key out (`_within_key_ranges`)."""
        entries = self._within_key_ranges(table, entries, bounds)
        if not entries:
            return []
        probe = self._scan(table, entries).select(*keys, F.col("_metadata.file_path").alias("file"))
        hits = probe.join(source.select(*keys), keys, "left_semi").select("file").distinct().collect()
        paths = {_plain_path(r.file) for r in hits}
        root = _plain_root(table)
        return [e for e in entries if storage.join(root, e.path) in paths]

    def _key_bounds(self, table: DeltaTable, schema: StructType, source: DataFrame,
                    keys: list[str]) -> dict[str, tuple[Any, Any]]:
        """The source's (min, max) of each integer or date key that is not a partition column (one small
        aggregate): the keys whose file statistics are exact and compare in Python as in Spark. String
        statistics may be truncated and timestamp ones compare across time zones, so those keys are left out."""
        partition_by = table.metadata().partition_columns
        ranged = [k for k in keys if k not in partition_by and isinstance(schema[k].dataType, _EXACT_STATS)]
        if not ranged:
            return {}
        row = source.agg(*[agg(k) for k in ranged for agg in (F.min, F.max)]).first()
        return {k: (row[2 * i], row[2 * i + 1]) for i, k in enumerate(ranged)}

    def _within_key_ranges(self, table: DeltaTable, entries: list[log.FileEntry],
                           bounds: dict[str, tuple[Any, Any]]) -> list[log.FileEntry]:
        """``entries`` less the files whose min/max statistics of a key lie outside the source's ``bounds``,
        as Delta's data skipping does: a day's new rows then skip every earlier day's file unread."""
        if not entries or not bounds:
            return entries
        if any(lo is None for lo, _ in bounds.values()):  # no source row has this key: none can match
            return []
        stats = log.key_ranges(table, list(bounds))

        def may_hold(entry: log.FileEntry) -> bool:
            for k, (lo, hi) in bounds.items():
                file_lo, file_hi = stats.get(entry.path, {}).get(k, (None, None))
                if file_lo is not None and file_hi is not None and (file_hi < lo or file_lo > hi):
                    return False
            return True

        return [e for e in entries if may_hold(e)]

    def _commit_job(self, ref: TableRef, table: DeltaTable | None, df: DataFrame, operation: str,
                    removes: list[log.FileEntry], txn: Txn | None, new_columns: list[StructField],
                    metadata: dict[str, str], *, data_change: bool = True,
                    create: dict[str, Any] | None = None, details: dict[str, Any] | None = None) -> CommitResult:
        """Write ``df``'s files and make one Delta commit of them plus ``removes``.

        ``table`` is None only with ``create`` (schema JSON, partition_by, configuration): the commit
        then creates the table with the job's files. An unpartitioned table's files come from Spark's
        parquet writer and the commit is made here; a partitioned table's go through the data source,
        whose driver-side commit makes it (see source.py).
        """
        if table is None:
            assert create is not None
            root, partition_by = self._root(ref), create["partition_by"]
        else:
            root, partition_by = _plain_root(table), table.metadata().partition_columns
            check_writable(table, root, removes=bool(removes) and data_change)
        write_id = uuid.uuid4().hex
        plan = {
            "write_id": write_id,
            "operation": operation,
            "read_version": table.version() if table is not None else None,
            "create": create,
            "data_change": data_change,
            "removes": [{"path": e.path, "size": e.size, "partition_values": e.partition_values} for e in removes],
            "txn": {"app_id": txn.app_id, "version": txn.version} if txn else None,
            "metadata": metadata,
            "add_columns": StructType(new_columns).json() if new_columns else None,
            **(details or {}),
        }
        if partition_by:
            outcome = self._commit_through_source(ref, root, df.sortWithinPartitions(*partition_by), partition_by,
                                                  plan)
        else:
            outcome = _commit_spark_files(root, df, plan, self._target_bytes)
        return CommitResult(ref.name, outcome["version"], outcome["committed"], operation,
                            rows_written=outcome["rows_written"], files_added=outcome["files_added"],
                            files_removed=outcome["files_removed"])

    def _commit_through_source(self, ref: TableRef, root: str, df: DataFrame, partition_by: list[str],
                               plan: dict[str, Any]) -> dict[str, Any]:
        """Run ``df`` through the ``modelscale_delta`` source with ``plan``; the commit's outcome.

        Each task's rows arrive sorted by the partition columns, so a task writes one file per
        partition value (more only past the size limit).
        """
        plan_uri = storage.join(root, f"_modelscale/plans/{plan['write_id']}.json")
        result_uri = storage.join(root, f"_modelscale/results/{plan['write_id']}.json")
        storage.write_json(plan_uri, plan)
        _activate(self._spark)
        try:
            (df.write.format(NAME).mode("append")
             .option("path", root).option("plan", plan_uri).option("result", result_uri)
             .option("write_id", plan["write_id"])
             .option("partition_by", json.dumps(partition_by))
             .option("target_bytes", str(self._target_bytes)).option("max_open", str(self._max_open))
             .option("data_change", str(plan["data_change"]).lower())
             .option(s3.OPTION, s3.to_option(s3.current()))
             .save())
            return storage.read_json(result_uri) or {}
        except Exception as exc:
            failure = (storage.read_json(result_uri) or {}).get("error")
            if failure is None:
                raise
            known = _ERRORS.get(failure["kind"])
            if known is not None:
                raise known(failure["message"]) from exc
            raise TableError(f"table {ref.name}: {plan['operation']} commit failed: {failure['message']}") from exc
        finally:
            storage.delete([plan_uri, result_uri])


def _commit_spark_files(root: str, df: DataFrame, plan: dict[str, Any], target_bytes: int) -> dict[str, Any]:
    """Write ``df`` with Spark's parquet writer into the write's own folder and commit its files; the
    outcome. The folder is removed when nothing was committed (no rows, Txn already in the table, a
    failed commit), unless the log holds the write after all."""
    folder = f"{WRITE_FOLDER_PREFIX}{plan['write_id']}"
    adds = spark_files.write(df, root, folder, target_bytes=target_bytes, data_change=plan["data_change"])
    try:
        outcome = asdict(log.commit(root, plan, adds))
    except BaseException:
        if not log.landed(root, plan["write_id"]):
            storage.delete_dir(storage.join(root, folder))
        raise
    if not outcome["committed"]:
        storage.delete_dir(storage.join(root, folder))
    return outcome


def _activate(spark: SparkSession) -> None:
    """Make ``spark`` the JVM's active session on this thread before a ``modelscale_delta`` write.

    Spark resolves a Python data source name through the thread's active session (a JVM thread-local):
    on a thread that never made the session active (e.g. a worker thread writing ``spark.range(...)``;
    ``createDataFrame`` happens to set it) the lookup fails with DATA_SOURCE_NOT_FOUND although the
    source is registered on this very session. Spark Connect sessions have no JVM here: nothing to do.
    """
    jsession = getattr(spark, "_jsparkSession", None)
    if jsession is None or getattr(spark, "_jvm", None) is None:
        return
    SparkSession._get_j_spark_session_class(spark._jvm).setActiveSession(jsession)


def _json_value(value: Any) -> Any:
    """A key bound as the Delta log's statistics write it (dates as ISO text)."""
    return value.isoformat() if isinstance(value, dt.date) else value


def _plain_root(table: DeltaTable) -> str:
    uri = table.table_uri.rstrip("/")
    return uri.removeprefix("file://") if uri.startswith("file:///") else uri


def _plain_path(spark_path: str) -> str:
    """Spark's ``_metadata.file_path`` (URL-encoded, ``file:`` scheme) as a plain path."""
    path = unquote(spark_path)
    if path.startswith("file:"):
        path = "/" + path[len("file:"):].lstrip("/")
    return path
