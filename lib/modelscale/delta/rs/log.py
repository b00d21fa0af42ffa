"""Driver side of the delta-rs engine: snapshots, the active file list and the one commit per write."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
from deltalake import DeltaTable, Schema
from deltalake.exceptions import CommitFailedError, TableNotFoundError
from deltalake.transaction import (AddAction, CommitProperties, RemoveAction, Transaction,
                                   create_table_with_add_actions)
from pyspark.sql.types import StructType

from modelscale.delta.model import OPERATION_KEY
from modelscale.delta.rs import partitions, storage
from modelscale.delta.rs.commit import Outcome, check_writable, commit_info, is_local, validate_adds
from modelscale.delta.rs.commit import commit as commit_local
from modelscale.delta.schema import from_delta_json
from modelscale.errors import ConcurrentWriteError, TableError

UNSUPPORTED_READER_FEATURES = {"deletionVectors", "columnMapping"}
WRITE_ID_KEY = "txnId"  # commitInfo key holding the write's id (Delta's own field for a commit's unique id)


@dataclass(frozen=True)
class FileEntry:
    """One active data file: plain relative path, size, Delta partition values, row count."""

    path: str
    size: int
    partition_values: dict[str, str | None]
    num_records: int | None


def open_table(root: str, version: int | None = None, timestamp: str | dt.datetime | None = None) -> DeltaTable | None:
    """The table at ``root`` (optionally time-travelled), None if there is none; refuses unsupported ones."""
    try:
        table = storage.table(root)
    except TableNotFoundError:
        return None
    if version is not None:
        table.load_as_version(version)
    elif timestamp is not None:
        table.load_as_version(_utc(timestamp))
    refuse_unsupported(table, root)
    return table


def _utc(timestamp: str | dt.datetime) -> dt.datetime:
    """An ISO string or datetime as an aware datetime; naive ones are UTC (the session time zone)."""
    value = dt.datetime.fromisoformat(timestamp) if isinstance(timestamp, str) else timestamp
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def refuse_unsupported(table: DeltaTable, root: str) -> None:
    """Deletion vectors or column mapping would be read wrongly from plain parquet: refuse them."""
    proto = table.protocol()
    found = UNSUPPORTED_READER_FEATURES & set(proto.reader_features or [])
    mapping = table.metadata().configuration.get("delta.columnMapping.mode", "none")
    if mapping != "none" or proto.min_reader_version == 2:
        found.add("columnMapping")
    if found:
        raise TableError(
            f"table at {root} uses reader features {', '.join(sorted(found))} that the delta-rs engine "
            "cannot honour when Spark reads its parquet files; use the native engine (Delta jars) for it"
        )


def spark_schema(table: DeltaTable) -> StructType:
    return from_delta_json(table.schema().to_json())


def active_files(table: DeltaTable, where: str | None = None) -> list[FileEntry]:
    """Active files of the loaded snapshot, pruned by ``where`` when delta-rs can evaluate it."""
    actions = pa.table(table.get_add_actions(flatten=True))
    parts = [c for c in actions.column_names if c.startswith("partition.")]
    rows = actions.select(["path", "size_bytes", "num_records", *parts]).to_pylist()
    entries = [
        FileEntry(
            path=unquote(r["path"]),
            size=r["size_bytes"],
            partition_values={c[len("partition."):]: partitions.to_delta(r[c]) for c in parts},
            num_records=r["num_records"],
        )
        for r in rows
    ]
    if not where:
        return entries
    try:
        keep = set(table.file_uris(file_pruning_predicate=where))
    except Exception:  # a predicate delta-rs cannot parse prunes nothing; Spark still filters the rows
        return entries
    root = table.table_uri.removeprefix("file://").rstrip("/")
    return [e for e in entries if storage.join(root, e.path) in keep]


def key_ranges(table: DeltaTable, columns: list[str]) -> dict[str, dict[str, tuple[Any, Any]]]:
    """Per active file (by `FileEntry.path`), the (min, max) statistics it holds for ``columns``."""
    actions = pa.table(table.get_add_actions(flatten=True))
    have = [c for c in columns if f"min.{c}" in actions.column_names and f"max.{c}" in actions.column_names]
    rows = actions.select(["path", *[f"{bound}.{c}" for c in have for bound in ("min", "max")]]).to_pylist()
    return {unquote(r["path"]): {c: (r[f"min.{c}"], r[f"max.{c}"]) for c in have} for r in rows}


def commit(root: str, plan: dict[str, Any], adds: list[dict[str, Any]]) -> Outcome:
    """Make ONE commit of ``adds`` plus the plan's removes against the plan's read version.

    On a local or mounted file system the commit is written by `commit.commit` (the real operation in
    the history, Delta's conflict rules). Other storage URIs have no create-if-absent here, so delta-rs
    commits there (`_commit_with_delta_rs`): same actions, but the history records every write as a
    WRITE in mode Append, with the real operation under ``modelscale.operation``.
    """
    if is_local(root):
        return commit_local(root, plan, adds)
    return _commit_with_delta_rs(root, plan, adds)


def _commit_with_delta_rs(root: str, plan: dict[str, Any], adds: list[dict[str, Any]]) -> Outcome:
    if plan.get("create") is not None:
        return _create(root, plan, adds)
    table = storage.table(root, version=plan["read_version"])
    txn = plan.get("txn")
    if txn is not None:
        seen = storage.table(root).transaction_version(txn["app_id"])
        if seen is not None and seen >= txn["version"]:
            storage.delete([storage.join(root, a["path"]) for a in adds])
            return Outcome(storage.table(root).version(), False, 0, 0, 0)
    partition_by = table.metadata().partition_columns
    check_writable(table, root, removes=bool(plan.get("removes")) and plan["data_change"])
    validate_adds(adds, partition_by, root)
    removes = plan.get("removes", [])
    if not adds and not removes and txn is None:
        return Outcome(table.version(), False, 0, 0, 0)
    if plan.get("add_columns"):
        table.alter.add_columns(Schema.from_json(plan["add_columns"]).fields)
    now = int(time.time() * 1000)
    actions: list[AddAction | RemoveAction] = [
        RemoveAction(r["path"], plan["data_change"], now, r["size"], r["partition_values"]) for r in removes
    ]
    actions += [AddAction(**a) for a in adds]
    try:
        table.create_write_transaction(actions, "append", table.schema(), partition_by=partition_by,
                                       commit_properties=_commit_properties(plan, adds, partition_by))
    except CommitFailedError as exc:
        raise ConcurrentWriteError(
            f"table at {root}: {plan['operation']} read version {plan['read_version']} but a concurrent "
            f"commit changed the files it rewrites; nothing was committed, re-run the operation ({exc})"
        ) from None
    rows = sum(_num_records(a) for a in adds)
    return Outcome(_committed_version(root, plan["write_id"]), True, len(adds), len(removes), rows)


def _commit_properties(plan: dict[str, Any], adds: list[dict[str, Any]], partition_by: list[str]) -> CommitProperties:
    """What of `commit.commit_info` delta-rs lets a caller record: parameters, metrics, user metadata, txn id."""
    txn = plan.get("txn")
    info = commit_info(plan, adds, partition_by)
    kept = {k: info[k] for k in ("operationParameters", "operationMetrics", "userMetadata", "txnId") if k in info}
    return CommitProperties(
        custom_metadata={**kept, OPERATION_KEY: info["operation"]},
        app_transactions=[Transaction(txn["app_id"], txn["version"])] if txn else None,
    )


def _create(root: str, plan: dict[str, Any], adds: list[dict[str, Any]]) -> Outcome:
    """Create the table with ``adds`` as version 0 in one commit.

    If another writer created the table meanwhile, a plain append (WRITE) whose schema and partitioning
    match is committed to that table instead; any other operation fails with ConcurrentWriteError.
    """
    create = plan["create"]
    partition_by = create["partition_by"]
    validate_adds(adds, partition_by, root)
    schema = Schema.from_json(create["schema"])
    try:
        create_table_with_add_actions(root, schema, [AddAction(**a) for a in adds], "error", partition_by or None,
                                      configuration=create.get("configuration") or None,
                                      storage_options=storage.options(root),
                                      commit_properties=_commit_properties(plan, adds, partition_by))
    except Exception as exc:
        existing = open_table(root)
        if existing is None:
            raise
        same = (json.loads(existing.schema().to_json()) == json.loads(schema.to_json())
                and existing.metadata().partition_columns == partition_by)
        if plan["operation"] == "WRITE" and same:
            return commit(root, {**plan, "create": None, "read_version": existing.version()}, adds)
        raise ConcurrentWriteError(
            f"table at {root}: {plan['operation']} was to create the table but a concurrent writer created it "
            f"first{'' if same else ' with another schema or partitioning'}; nothing was committed, re-run the "
            f"operation ({exc})"
        ) from None
    rows = sum(_num_records(a) for a in adds)
    return Outcome(_committed_version(root, plan["write_id"]), True, len(adds), 0, rows)


def _committed_version(root: str, write_id: str) -> int:
    """The version our commit landed at (delta-rs may have rebased it past concurrent commits)."""
    version = _version_of(root, write_id)
    return storage.table(root).version() if version is None else version


def landed(root: str, write_id: str) -> bool:
    """Whether a recent commit of the table at ``root`` is the write ``write_id`` (its files are live)."""
    try:
        return _version_of(root, write_id) is not None
    except TableNotFoundError:
        return False


def _version_of(root: str, write_id: str) -> int | None:
    for entry in storage.table(root).history(limit=50):
        if entry.get(WRITE_ID_KEY) == write_id:
            return int(entry["version"])
    return None


def _num_records(add: dict[str, Any]) -> int:
    return json.loads(add["stats"])["numRecords"]
