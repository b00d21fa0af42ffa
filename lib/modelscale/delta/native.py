"""The native engine: ``format("delta")`` and ``delta.tables.DeltaTable`` where the Delta jars are on
the classpath (Databricks, clusters with the jars). Catalog names use saveAsTable/table, paths save/load."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import LongType, StringType, StructField, StructType

from modelscale.catalog import TableRef
from modelscale.delta.model import OPERATION_KEY, CommitResult, TableInfo, Txn
from modelscale.errors import TableError


def _user_metadata(metadata: dict[str, str], operation: str) -> str:
    """Commit metadata as Delta userMetadata (JSON), read back by `NativeEngine.history`."""
    return json.dumps({**metadata, OPERATION_KEY: operation})


class NativeEngine:
    name = "native"

    def __init__(self, spark: SparkSession) -> None:
        self._spark = spark

    def _delta(self, ref: TableRef) -> Any:
        from delta.tables import DeltaTable

        if ref.is_catalog_name:
            return DeltaTable.forName(self._spark, ref.location)
        return DeltaTable.forPath(self._spark, ref.location)

    def _sql_name(self, ref: TableRef) -> str:
        return ref.location if ref.is_catalog_name else f"delta.`{ref.location}`"

    def exists(self, ref: TableRef) -> bool:
        from delta.tables import DeltaTable

        if ref.is_catalog_name:
            return bool(self._spark.catalog.tableExists(ref.location))
        return bool(DeltaTable.isDeltaTable(self._spark, ref.location))

    def schema(self, ref: TableRef) -> StructType | None:
        return self._delta(ref).toDF().schema if self.exists(ref) else None

    def version(self, ref: TableRef) -> int | None:
        if not self.exists(ref):
            return None
        return int(self._delta(ref).history(1).select("version").first()[0])

    def txn_version(self, ref: TableRef, app_id: str) -> int | None:
        """Highest ``txn`` action version for ``app_id`` in the log's commits and checkpoints."""
        if not self.exists(ref):
            return None
        location = self._spark.sql(f"DESCRIBE DETAIL {self._sql_name(ref)}").first().location
        txn = StructType([StructField("txn", StructType([StructField("appId", StringType()),
                                                         StructField("version", LongType())]))])
        frames = [self._spark.read.schema(txn).json(f"{location}/_delta_log/*.json")]
        try:
            frames.append(self._spark.read.schema(txn).parquet(f"{location}/_delta_log/*.checkpoint*.parquet"))
        except Exception:  # no checkpoint yet
            pass
        rows = [f.where(f.txn.appId == app_id).selectExpr("max(txn.version) as v").first() for f in frames]
        found = [r.v for r in rows if r is not None and r.v is not None]
        return max(found) if found else None

    def history(self, ref: TableRef, limit: int | None) -> list[dict[str, Any]]:
        """Delta's history, with our commit metadata (userMetadata JSON) lifted to top-level keys."""
        df = self._delta(ref).history(limit) if limit else self._delta(ref).history()
        entries = []
        for row in df.collect():
            entry = row.asDict(recursive=True)
            try:
                ours = json.loads(entry.get("userMetadata") or "")
            except ValueError:
                ours = {}
            if isinstance(ours, dict):
                entry.update(ours)
                entry["operation"] = ours.get(OPERATION_KEY, entry["operation"])
                entry.pop(OPERATION_KEY, None)
            entries.append(entry)
        return entries

    def info(self, ref: TableRef) -> TableInfo:
        d = self._spark.sql(f"DESCRIBE DETAIL {self._sql_name(ref)}").first()
        return TableInfo(ref.name, ref.location, self.version(ref), int(d.numFiles), None, list(d.partitionColumns))

    def create(self, ref: TableRef, schema: StructType) -> CommitResult:
        from delta.tables import DeltaTable

        builder = DeltaTable.create(self._spark).addColumns(schema).partitionedBy(*ref.partition_by)
        builder = builder.tableName(ref.location) if ref.is_catalog_name else builder.location(ref.location)
        for key, value in ref.config.properties.items():
            builder = builder.property(key, value)
        builder.execute()
        for cname, sql in ref.config.constraints.items():
            self._spark.sql(f"ALTER TABLE {self._sql_name(ref)} ADD CONSTRAINT {cname} CHECK ({sql})")
        return CommitResult(ref.name, self.version(ref), True, "CREATE TABLE")

    def read(self, ref: TableRef, *, version: int | None = None, timestamp: str | dt.datetime | None = None,
             where: str | None = None) -> DataFrame:
        reader = self._spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        elif timestamp is not None:
            reader = reader.option("timestampAsOf", str(timestamp))
        df = reader.table(ref.location) if ref.is_catalog_name else reader.load(ref.location)
        return df.filter(where) if where else df

    def write(self, ref: TableRef, df: DataFrame, *, overwrite: bool, replace_where: str | None, txn: Txn | None,
              new_columns: list[StructField], metadata: dict[str, str]) -> CommitResult:
        writer = df.write.format("delta").mode("overwrite" if overwrite or replace_where else "append")
        if replace_where:
            writer = writer.option("replaceWhere", replace_where)
        if txn:
            writer = writer.option("txnAppId", txn.app_id).option("txnVersion", txn.version)
        if new_columns:
            writer = writer.option("mergeSchema", "true")
        operation = "REPLACE WHERE" if replace_where else "OVERWRITE" if overwrite else "WRITE"
        writer = writer.option("userMetadata", _user_metadata(metadata, operation))
        before = self.version(ref)
        writer.saveAsTable(ref.location) if ref.is_catalog_name else writer.save(ref.location)
        return self._result(ref, before, operation)

    def merge(self, ref: TableRef, source: DataFrame, keys: list[str], *, update_condition: str | None,
              delete_missing: bool, txn: Txn | None, new_columns: list[StructField],
              metadata: dict[str, str]) -> CommitResult:
        if source.groupBy(*keys).count().where("count > 1").limit(1).count():
            raise TableError(f"table {ref.name}: merge source has more than one row for some key ({', '.join(keys)})")
        builder = (self._delta(ref).alias("t")
                   .merge(source.alias("s"), " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys))
                   .whenMatchedUpdateAll(condition=update_condition).whenNotMatchedInsertAll())
        if delete_missing:
            builder = builder.whenNotMatchedBySourceDelete()
        if new_columns:
            builder = builder.withSchemaEvolution()
        conf = {"spark.databricks.delta.write.txnAppId": txn.app_id if txn else None,
                "spark.databricks.delta.write.txnVersion": str(txn.version) if txn else None,
                "spark.databricks.delta.commitInfo.userMetadata": _user_metadata(metadata, "MERGE")}
        before = self.version(ref)
        for key, value in conf.items():
            if value is not None:
                self._spark.conf.set(key, value)
        try:
            builder.execute()
        finally:
            for key, value in conf.items():
                if value is not None:
                    self._spark.conf.unset(key)
        result = self._result(ref, before, "MERGE")
        last = self._delta(ref).history(1).first().operationMetrics or {}
        metrics = {"rows_updated": int(last.get("numTargetRowsUpdated", 0)),
                   "rows_inserted": int(last.get("numTargetRowsInserted", 0)),
                   "rows_deleted": int(last.get("numTargetRowsDeleted", 0)),
                   "rows_copied": int(last.get("numTargetRowsCopied", 0))}
        return replace(result, metrics=metrics)

    def vacuum(self, ref: TableRef, retention_hours: int) -> list[str]:
        self._spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
        name = self._sql_name(ref)
        files = [r[0] for r in self._spark.sql(f"VACUUM {name} RETAIN {retention_hours} HOURS DRY RUN").collect()]
        self._spark.sql(f"VACUUM {name} RETAIN {retention_hours} HOURS")
        return files

    def optimize(self, ref: TableRef, where: str | None) -> CommitResult:
        before = self.version(ref)
        opt = self._delta(ref).optimize()
        (opt.where(where) if where else opt).executeCompaction()
        return self._result(ref, before, "OPTIMIZE")

    def changes(self, ref: TableRef, starting_version: int, ending_version: int | None) -> DataFrame:
        reader = self._spark.read.format("delta").option("readChangeFeed", "true")
        reader = reader.option("startingVersion", starting_version)
        if ending_version is not None:
            reader = reader.option("endingVersion", ending_version)
        return reader.table(ref.location) if ref.is_catalog_name else reader.load(ref.location)

    def _result(self, ref: TableRef, before: int | None, operation: str) -> CommitResult:
        after = self.version(ref)
        if after == before:
            return CommitResult(ref.name, after, False, operation)
        m = self._delta(ref).history(1).first().operationMetrics or {}
        return CommitResult(ref.name, after, True, operation, rows_written=int(m.get("numOutputRows", 0)),
                            files_added=int(m.get("numAddedFiles", m.get("numFiles", 0))),
                            files_removed=int(m.get("numRemovedFiles", 0)))
