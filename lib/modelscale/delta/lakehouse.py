"""`Lakehouse`: every Delta read and write of every job, addressed by logical table name.

It resolves names through the catalog, creates missing tables from their config (a first append or
overwrite creates the table with its data in one commit when the engine can and the config adds no
constraints; `create` is the explicit empty create), checks a
write's schema against the table's (`schema.conform`), skips writes whose `Txn` the table
already holds, and hands the rest to the engine (native Delta or delta-rs).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import DoubleType, FloatType, StructType

from modelscale.caching import cached
from modelscale.catalog import Catalog, TableRef
from modelscale.delta.engine import DeltaEngine
from modelscale.delta.model import CommitResult, TableInfo, Txn
from modelscale.delta.schema import conform, violation
from modelscale.errors import ModelscaleError, SchemaMismatchError, TableError
from modelscale.logs import get_logger
from modelscale.sql_text import ident

log = get_logger("delta")
T = TypeVar("T")


class Lakehouse:
    """Every Delta read/write of every job goes through this, addressed by logical table name."""

    def __init__(self, spark: SparkSession, catalog: Catalog, engine: DeltaEngine) -> None:
        self.spark = spark
        self.catalog = catalog
        self.engine = engine

    @property
    def engine_name(self) -> str:
        return self.engine.name

    def exists(self, name: str) -> bool:
        return self.engine.exists(self.catalog.table(name))

    def location(self, name: str) -> str:
        return self.catalog.table(name).location

    def create(self, name: str, schema: StructType) -> CommitResult:
        """Create ``name`` from its config; a no-op if it exists with the same columns and types."""
        ref = self.catalog.table(name)
        current = self.engine.schema(ref)
        if current is None:
            _check_partition_columns(ref, schema)
            result = _checked(lambda: self.engine.create(ref, schema), name)
            log.info("created table %s at %s (version %s)", name, ref.location, result.version)
            return result
        ours = [(f.name, f.dataType.simpleString()) for f in schema.fields]
        theirs = [(f.name, f.dataType.simpleString()) for f in current.fields]
        if ours != theirs:
            raise SchemaMismatchError(
                f"table {name} at {ref.location} exists with columns "
                f"{', '.join(f'{n} {t}' for n, t in theirs)}; create asked for {', '.join(f'{n} {t}' for n, t in ours)}"
            )
        return CommitResult(name, self.engine.version(ref), False, "CREATE TABLE")

    def read(self, name: str, *, version: int | None = None, timestamp: str | dt.datetime | None = None,
             where: str | None = None) -> DataFrame:
        """The table (optionally as of a version or timestamp); ``where`` filters rows and prunes files."""
        return self.engine.read(self.catalog.table(name), version=version, timestamp=timestamp, where=where)

    def append(self, name: str, df: DataFrame, *, txn: Txn | None = None, merge_schema: bool = False,
               metadata: dict[str, str] | None = None) -> CommitResult:
        return self._write(name, df, "WRITE", overwrite=False, replace_where=None, txn=txn,
                           merge_schema=merge_schema, metadata=metadata)

    def overwrite(self, name: str, df: DataFrame, *, replace_where: str | None = None, txn: Txn | None = None,
                  merge_schema: bool = False, metadata: dict[str, str] | None = None,
                  skip_unchanged: Collection[str] | None = None) -> CommitResult:
        """Replace the table's rows (or, with ``replace_where``, the rows matching it) in one commit.

        With ``skip_unchanged`` (the columns a rerun changes anyway: run ids, timestamps), nothing is committed
        when the rows to replace already equal ``df``'s on every other column (a column of the table that ``df``
        lacks counts as the nulls the write would give it): a rerun of a run date leaves the table's version as it
        was. ``df`` is then computed once, cached for the comparison and the write.
        """
        operation = "REPLACE WHERE" if replace_where else "OVERWRITE"
        if skip_unchanged is None or not self.exists(name):
            return self._write(name, df, operation, overwrite=True, replace_where=replace_where, txn=txn,
                               merge_schema=merge_schema, metadata=metadata)
        with cached(df) as frame:
            current = self.read(name, where=replace_where)
            as_written, _ = conform(frame, current.schema, name, merge_schema=True)
            if same_rows(as_written, current, ignoring=skip_unchanged):
                log.info("%s %s skipped: the rows it would replace are unchanged", operation, name)
                return CommitResult(name, self.version(name), False, operation)
            return self._write(name, frame, operation, overwrite=True, replace_where=replace_where, txn=txn,
                               merge_schema=merge_schema, metadata=metadata)

    def merge(self, name: str, source: DataFrame, keys: list[str], *, update_condition: str | None = None,
              delete_missing: bool = False, txn: Txn | None = None, merge_schema: bool = False,
              metadata: dict[str, str] | None = None) -> CommitResult:
        """Upsert ``source`` by ``keys``: matched rows replaced (when ``update_condition`` holds), new rows
        inserted, and with ``delete_missing`` target rows absent from the source deleted."""
        ref = self.catalog.table(name)
        missing_keys = [k for k in keys if k not in source.columns]
        if not keys or missing_keys:
            raise SchemaMismatchError(f"table {name}: merge keys {missing_keys or keys} are not source columns "
                                      f"({', '.join(source.columns)})")
        skipped = self._skip(ref, txn, "MERGE")
        if skipped:
            return skipped
        table_schema = self._existing_schema(ref, source.schema)
        absent = [f.name for f in table_schema.fields if f.name not in source.columns]
        if absent:
            raise SchemaMismatchError(f"table {name}: merge source lacks table columns {', '.join(absent)}; "
                                      "a matched row would lose their values")
        aligned, new_columns = conform(source, table_schema, name, merge_schema=merge_schema)
        return _checked(lambda: self.engine.merge(ref, aligned, keys, update_condition=update_condition,
                                                  delete_missing=delete_missing, txn=txn, new_columns=new_columns,
                                                  metadata=metadata or {}), name)

    def clustered(self, name: str, df: DataFrame) -> DataFrame:
        """``df`` with each of the table's partition values in one task, so a write adds one file per value
        (a shuffle; an unpartitioned table's rows are returned as they are)."""
        partition_by = self.catalog.table(name).partition_by
        return df.repartition(*partition_by) if partition_by else df

    def version(self, name: str) -> int | None:
        return self.engine.version(self.catalog.table(name))

    def history(self, name: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Delta's history, newest first: each commit's operation, parameters and metrics as Delta recorded
        them, with the metadata our writes record (userMetadata JSON) lifted to top-level keys."""
        return [_lifted(entry) for entry in self.engine.history(self.catalog.table(name), limit)]

    def txn_version(self, name: str, app_id: str) -> int | None:
        return self.engine.txn_version(self.catalog.table(name), app_id)

    def vacuum(self, name: str, retention_hours: int = 168) -> list[str]:
        """Delete files no version within ``retention_hours`` references; returns them."""
        return self.engine.vacuum(self.catalog.table(name), retention_hours)

    def optimize(self, name: str, where: str | None = None) -> CommitResult:
        """Compact small files (dataChange=false: readers and the change feed see no change)."""
        return _checked(lambda: self.engine.optimize(self.catalog.table(name), where), name)

    def changes(self, name: str, starting_version: int, ending_version: int | None = None) -> DataFrame:
        """Change data feed rows with ``_change_type``, ``_commit_version``, ``_commit_timestamp``."""
        return self.engine.changes(self.catalog.table(name), starting_version, ending_version)

    def info(self, name: str) -> TableInfo:
        return self.engine.info(self.catalog.table(name))

    # ------------------------------------------------------------------ helpers

    def _write(self, name: str, df: DataFrame, operation: str, *, overwrite: bool, replace_where: str | None,
               txn: Txn | None, merge_schema: bool, metadata: dict[str, str] | None) -> CommitResult:
        ref = self.catalog.table(name)
        skipped = self._skip(ref, txn, operation)
        if skipped:
            return skipped
        table_schema = self.engine.schema(ref)
        write_new = getattr(self.engine, "write_new", None)
        if table_schema is None and write_new is not None and not ref.config.constraints:
            _check_partition_columns(ref, df.schema)
            aligned, _ = conform(df, df.schema, name, merge_schema=False)
            result = _checked(lambda: write_new(ref, aligned, operation=operation, replace_where=replace_where,
                                                txn=txn, metadata=metadata or {}), name)
            log.info("%s %s: created at version %s, %d rows in %d files", result.operation, name, result.version,
                     result.rows_written, result.files_added)
            return result
        if table_schema is None:
            table_schema = self._existing_schema(ref, df.schema)
        aligned, new_columns = conform(df, table_schema, name, merge_schema=merge_schema)
        result = _checked(lambda: self.engine.write(ref, aligned, overwrite=overwrite, replace_where=replace_where,
                                                    txn=txn, new_columns=new_columns, metadata=metadata or {}), name)
        if result.committed or txn is None:
            log.info("%s %s: version %s, %d rows in %d files", result.operation, name, result.version,
                     result.rows_written, result.files_added)
        else:
            log.info("%s %s skipped: the table already holds txn %s version %s", operation, name, txn.app_id,
                     txn.version)
        return result

    def _skip(self, ref: TableRef, txn: Txn | None, operation: str) -> CommitResult | None:
        """A result for a write whose Txn the table already holds; None when it must run (or the engine
        itself skips it before writing)."""
        if txn is None or self.engine.skips_applied_txns:
            return None
        seen = self.engine.txn_version(ref, txn.app_id)
        if seen is None or seen < txn.version:
            return None
        log.info("%s %s skipped: txn %s already at version %s", operation, ref.name, txn.app_id, seen)
        return CommitResult(ref.name, self.engine.version(ref), False, operation)

    def _existing_schema(self, ref: TableRef, schema: StructType) -> StructType:
        """The table's schema, creating the table from its config (with ``schema``) if it is missing."""
        current = self.engine.schema(ref)
        if current is not None:
            return current
        try:
            self.create(ref.name, schema)
        except Exception:
            if not self.engine.exists(ref):  # else a concurrent writer created it first
                raise
        created = self.engine.schema(ref)
        assert created is not None
        return created


FLOAT_DECIMALS = 9


def same_rows(a: DataFrame, b: DataFrame, *, ignoring: Collection[str] = ()) -> bool:
    """Whether ``a`` and ``b`` hold the same rows (as multisets) on their columns but ``ignoring``: the count and
    the sum of each row's hash agree. A row is hashed as its JSON text, which names every non-null field, so
    nulls in different columns never hash alike. Floating-point columns are compared to `FLOAT_DECIMALS`
    places: an aggregate summed in another order (tasks finishing in another order) differs in its last bits."""
    columns = [c for c in a.columns if c not in ignoring]
    if sorted(columns) != sorted(c for c in b.columns if c not in ignoring):
        return False
    floating = {f.name for f in a.schema.fields if isinstance(f.dataType, DoubleType | FloatType)}
    fields = ", ".join(f"round({ident(c)}, {FLOAT_DECIMALS}) AS {ident(c)}" if c in floating else ident(c)
                       for c in columns)
    digest = ["count(1) AS n", f"sum(CAST(xxhash64(to_json(struct({fields}))) AS DECIMAL(38, 0))) AS h"]
    return tuple(a.selectExpr(*digest).first()) == tuple(b.selectExpr(*digest).first())


def _lifted(entry: dict[str, Any]) -> dict[str, Any]:
    try:
        ours = json.loads(entry.get("userMetadata") or "")
    except ValueError:  # another writer's free text
        return entry
    return {**ours, **entry} if isinstance(ours, dict) else entry


def _check_partition_columns(ref: TableRef, schema: StructType) -> None:
    missing = [c for c in ref.partition_by if c not in schema.fieldNames()]
    if missing:
        raise SchemaMismatchError(f"table {ref.name}: partition columns {', '.join(missing)} are not in the schema "
                                  f"({', '.join(schema.fieldNames())})")


def _checked(action: Callable[[], T], table: str) -> T:
    """Run ``action``; a row failing a check inside the Spark job becomes a TableError."""
    try:
        return action()
    except ModelscaleError:
        raise
    except Exception as exc:
        message = violation(exc)
        if message is None:
            raise
        raise TableError(message) from None
