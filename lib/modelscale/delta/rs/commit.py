"""The delta-rs engine's commits, written as Delta's own writer would write them.

delta-rs's Python API commits add and remove actions only as a ``WRITE`` in mode ``Append``, so a merge
or a replaceWhere would claim to be a blind append in the table's history. Each commit is therefore
written here: a ``commitInfo`` naming the real operation (``WRITE`` with its mode and replaceWhere
predicate, ``MERGE`` with its clauses, ``OPTIMIZE``) with Delta's operation metrics, then the ``txn``,
``metaData``, ``remove`` and ``add`` actions, as one JSON file created only if absent. A commit that
finds its version taken checks the winning commits the way Delta does (a changed schema or
protocol, a file both remove, a file added where this write read) and either lands on the next
version or fails with `ConcurrentWriteError`; a winner holding this write's ``txn`` makes it a no-op.

Creating a file only if absent is atomic on a local or mounted file system (a hard link), which is
where this engine keeps its tables; other storage URIs commit through delta-rs (see `log.commit`).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from importlib import metadata
from typing import Any
from urllib.parse import quote, unquote

from deltalake import DeltaTable

from modelscale.delta.rs import storage
from modelscale.errors import ConcurrentWriteError, TableError

# Writer features these commits honour (the others are refused before anything is written).
SUPPORTED_WRITER_FEATURES = {"appendOnly", "invariants", "checkConstraints", "changeDataFeed", "timestampNtz",
                             "inCommitTimestamp", "vacuumProtocolCheck", "domainMetadata"}
DEFAULT_CHECKPOINT_INTERVAL = 10  # Delta's default for delta.checkpointInterval
_MAX_ATTEMPTS = 1000
# A log path is a URI: the characters delta-rs and Delta percent-encode (controls, non-ASCII, space, %, ...).
_PATH_SAFE = "!$&'()+,-./:;=@_~"


@dataclass(frozen=True)
class Outcome:
    version: int
    committed: bool
    files_added: int
    files_removed: int
    rows_written: int


def is_local(root: str) -> bool:
    """Whether ``root`` is on a file system where a hard link creates a commit file only if absent."""
    return "://" not in root or root.startswith("file://")


def encode_path(path: str) -> str:
    return quote(path, safe=_PATH_SAFE)


def commit(root: str, plan: dict[str, Any], adds: list[dict[str, Any]]) -> Outcome:
    """Make ONE commit of ``adds`` plus the plan's removes (see the module docstring).

    ``plan``: operation (WRITE, OVERWRITE, REPLACE WHERE, MERGE, OPTIMIZE), read_version (None with
    ``create``), create (schema, partition_by, configuration), data_change, removes, txn, metadata,
    add_columns (a Spark schema JSON of columns to add), write_id, and for the history: predicate
    (replaceWhere or OPTIMIZE's where), merge (keys, update_condition, delete_missing, row metrics,
    key_ranges: the source's min/max per key, which narrow what counts as a conflicting append).
    """
    log_dir = storage.join(root, "_delta_log")
    create = plan.get("create")
    snapshot = None if create is not None else storage.table(root, version=plan["read_version"])
    if snapshot is not None:
        check_writable(snapshot, root, removes=bool(plan.get("removes")) and plan["data_change"])
    txn = plan.get("txn")
    if txn is not None and _txn_done(root, txn):
        return _nothing_done(root, adds)
    removes = plan.get("removes", [])
    if snapshot is not None and not adds and not removes and txn is None:
        return Outcome(snapshot.version(), False, 0, 0, 0)
    partition_by = create["partition_by"] if create is not None else snapshot.metadata().partition_columns
    validate_adds(adds, partition_by, root)
    actions = _actions(plan, adds, snapshot, partition_by)
    version = 0 if create is not None else plan["read_version"] + 1
    for _ in range(_MAX_ATTEMPTS):
        stamp = _commit_info_stamp(root, version, snapshot)
        if _put_if_absent(log_dir, version, [{"commitInfo": {**actions[0]["commitInfo"], **stamp}}, *actions[1:]]):
            _checkpoint_if_due(root, version, create, snapshot)
            rows = sum(json.loads(a["stats"])["numRecords"] for a in adds)
            return Outcome(version, True, len(adds), len(removes), rows)
        winner = read_commit(root, version)
        verdict = _against(winner, version, plan, root)
        if verdict == "done":  # the winner is this very write (same txn): nothing left to do
            return _nothing_done(root, adds)
        if verdict == "rebase-create":  # another writer created the table first, as this append would have
            plan = {**plan, "create": None, "read_version": version}
            return commit(root, plan, adds)
        version += 1
    raise ConcurrentWriteError(f"table at {root}: {plan['operation']} lost {_MAX_ATTEMPTS} races for a version")


def check_writable(table: DeltaTable, root: str, *, removes: bool) -> None:
    """Refuse what these commits would not honour: unknown writer features, generated or identity columns
    (written without their values), and removes from an append-only table."""
    protocol = table.protocol()
    found = sorted(set(protocol.writer_features or []) - SUPPORTED_WRITER_FEATURES)
    if protocol.min_writer_version > 7:
        found.append(f"writer version {protocol.min_writer_version}")
    schema_json = table.schema().to_json()
    found += [f for f, key in (("generation expressions", "delta.generationExpression"),
                               ("identity columns", "delta.identity.")) if key in schema_json and f not in found]
    if found:
        raise TableError(f"table at {root} uses {', '.join(found)}, which the delta-rs engine does not write; "
                         "write it with the native engine")
    if removes and table.metadata().configuration.get("delta.appendOnly", "false").lower() == "true":
        raise TableError(f"table at {root} is append-only (delta.appendOnly=true): rows cannot be replaced, "
                         "merged or deleted")


def read_commit(root: str, version: int) -> list[dict[str, Any]]:
    """The actions of commit ``version`` (one JSON object per line)."""
    fs, path = storage.filesystem(storage.join(root, f"_delta_log/{version:020d}.json"))
    with fs.open_input_stream(path) as f:
        return [json.loads(line) for line in f.read().decode().splitlines() if line.strip()]


# ---------------------------------------------------------------------------- the commit's actions


def _actions(plan: dict[str, Any], adds: list[dict[str, Any]], snapshot: DeltaTable | None,
             partition_by: list[str]) -> list[dict[str, Any]]:
    """commitInfo first (its timestamps are set per attempt), then protocol/metaData, txn, removes, adds."""
    now = int(time.time() * 1000)
    actions: list[dict[str, Any]] = [{"commitInfo": commit_info(plan, adds, partition_by)}]
    create = plan.get("create")
    if create is not None:
        actions.append({"protocol": _protocol(create["configuration"])})
        actions.append({"metaData": {
            "id": str(uuid.uuid4()), "format": {"provider": "parquet", "options": {}},
            "schemaString": create["schema"], "partitionColumns": create["partition_by"],
            "configuration": create["configuration"], "createdTime": now}})
    elif plan.get("add_columns"):
        actions.append({"metaData": _evolved_metadata(snapshot, plan["add_columns"])})
    txn = plan.get("txn")
    if txn is not None:
        actions.append({"txn": {"appId": txn["app_id"], "version": txn["version"], "lastUpdated": now}})
    actions += [{"remove": {"path": encode_path(r["path"]), "deletionTimestamp": now, "dataChange": plan["data_change"],
                            "extendedFileMetadata": True, "partitionValues": r["partition_values"], "size": r["size"]}}
                for r in plan.get("removes", [])]
    actions += [{"add": {"path": encode_path(a["path"]), "partitionValues": a["partition_values"], "size": a["size"],
                         "modificationTime": a["modification_time"], "dataChange": a["data_change"],
                         "stats": a["stats"]}}
                for a in adds]
    return actions


def _protocol(configuration: dict[str, str]) -> dict[str, int]:
    """The lowest protocol that carries the table's properties (as Delta picks it for a new table)."""
    if configuration.get("delta.enableChangeDataFeed", "false").lower() == "true":
        return {"minReaderVersion": 1, "minWriterVersion": 4}
    return {"minReaderVersion": 1, "minWriterVersion": 2}


def _evolved_metadata(snapshot: DeltaTable | None, add_columns: str) -> dict[str, Any]:
    assert snapshot is not None
    meta = snapshot.metadata()
    schema = json.loads(snapshot.schema().to_json())
    schema["fields"] += json.loads(add_columns)["fields"]
    entry: dict[str, Any] = {"id": meta.id, "format": {"provider": "parquet", "options": {}},
                             "schemaString": json.dumps(schema), "partitionColumns": meta.partition_columns,
                             "configuration": meta.configuration, "createdTime": meta.created_time}
    if meta.name:
        entry["name"] = meta.name
    if meta.description:
        entry["description"] = meta.description
    return entry


def commit_info(plan: dict[str, Any], adds: list[dict[str, Any]], partition_by: list[str]) -> dict[str, Any]:
    """What Delta records for the operation: its name, parameters and metrics (all metric values strings)."""
    label, removes = plan["operation"], plan.get("removes", [])
    create = plan.get("create")
    rows_out = sum(json.loads(a["stats"])["numRecords"] for a in adds)
    bytes_out, bytes_removed = sum(a["size"] for a in adds), sum(r["size"] for r in removes)
    if label == "MERGE":
        merge = plan["merge"]
        matched = [{"actionType": "update", **({"predicate": merge["update_condition"]}
                                               if merge.get("update_condition") else {})}]
        by_source = [{"actionType": "delete"}] if merge.get("delete_missing") else []
        name, params = "MERGE", {
            "predicate": json.dumps([" AND ".join(f"t.{k} = s.{k}" for k in merge["keys"])]),
            "matchedPredicates": json.dumps(matched),
            "notMatchedPredicates": json.dumps([{"actionType": "insert"}]),
            "notMatchedBySourcePredicates": json.dumps(by_source)}
        counts = merge.get("metrics", {})
        metrics = {"numTargetRowsInserted": counts.get("rows_inserted", rows_out),
                   "numTargetRowsUpdated": counts.get("rows_updated", 0),
                   "numTargetRowsDeleted": counts.get("rows_deleted", 0),
                   "numTargetRowsCopied": counts.get("rows_copied", 0),
                   "numOutputRows": rows_out, "numTargetFilesAdded": len(adds),
                   "numTargetFilesRemoved": len(removes), "numTargetBytesAdded": bytes_out,
                   "numTargetBytesRemoved": bytes_removed}
    elif label == "OPTIMIZE":
        name, params = "OPTIMIZE", {"predicate": json.dumps([plan["predicate"]] if plan.get("predicate") else []),
                                    "zOrderBy": "[]", "clusterBy": "[]", "auto": "false"}
        metrics = {"numAddedFiles": len(adds), "numRemovedFiles": len(removes), "numAddedBytes": bytes_out,
                   "numRemovedBytes": bytes_removed}
    else:  # WRITE, OVERWRITE and REPLACE WHERE are all Delta WRITEs; their mode and predicate tell them apart
        mode = "Append" if label == "WRITE" else "Overwrite"
        name, params = "WRITE", {"mode": mode, "partitionBy": json.dumps(partition_by)}
        if plan.get("predicate"):
            params["predicate"] = plan["predicate"]
        metrics = {"numFiles": len(adds), "numOutputRows": rows_out, "numOutputBytes": bytes_out}
        if removes:
            metrics |= {"numRemovedFiles": len(removes), "numRemovedBytes": bytes_removed}
    info: dict[str, Any] = {
        "operation": name, "operationParameters": params,
        "isolationLevel": "SnapshotIsolation" if not plan["data_change"] else "Serializable",
        "isBlindAppend": label == "WRITE" and not removes and create is None,
        "operationMetrics": {k: str(v) for k, v in metrics.items()},
        "engineInfo": f"modelscale delta-rs/{metadata.version('deltalake')}",
        "txnId": plan["write_id"],
    }
    if plan.get("read_version") is not None:
        info["readVersion"] = plan["read_version"]
    if plan.get("metadata"):
        info["userMetadata"] = json.dumps(plan["metadata"], sort_keys=True)
    return info


def _commit_info_stamp(root: str, version: int, snapshot: DeltaTable | None) -> dict[str, int]:
    """The commit's timestamp; with in-commit timestamps, also one later than the previous commit's."""
    now = int(time.time() * 1000)
    if snapshot is None or "inCommitTimestamp" not in (snapshot.protocol().writer_features or []):
        return {"timestamp": now}
    previous = next((a["commitInfo"].get("inCommitTimestamp", 0) for a in read_commit(root, version - 1)
                     if "commitInfo" in a), 0)
    stamp = max(now, previous + 1)
    return {"inCommitTimestamp": stamp, "timestamp": stamp}


# ---------------------------------------------------------------------------- races


def _against(winner: list[dict[str, Any]], version: int, plan: dict[str, Any], root: str) -> str:
    """How a commit that took ``version`` first bears on ours: ``retry`` at the next version, ``done`` (it
    holds our txn), ``rebase-create``, or a raised ConcurrentWriteError naming the conflict."""
    txn = plan.get("txn")
    for action in winner:
        theirs = action.get("txn")
        if txn is not None and theirs and theirs["appId"] == txn["app_id"] and theirs["version"] >= txn["version"]:
            return "done"
    what = plan["operation"]
    if plan.get("create") is not None:
        meta = next((a["metaData"] for a in winner if "metaData" in a), None)
        same = meta is not None and json.loads(meta["schemaString"]) == json.loads(plan["create"]["schema"]) \
            and meta["partitionColumns"] == plan["create"]["partition_by"]
        if what == "WRITE" and same:
            return "rebase-create"
        _conflict(root, what, version, "created the table first"
                  f"{'' if same else ' with another schema or partitioning'}")
    if any("metaData" in a or "protocol" in a for a in winner):
        _conflict(root, what, version, "changed the table's schema, properties or protocol")
    ours = {r["path"] for r in plan.get("removes", [])}
    theirs_removed = {_decoded(a["remove"]["path"]) for a in winner if "remove" in a}
    both = sorted(ours & theirs_removed)
    if both:
        _conflict(root, what, version, f"removed {len(both)} of the files this write replaces (e.g. {both[0]})")
    added = [a["add"] for a in winner if "add" in a and a["add"].get("dataChange", True)]
    if added and plan["data_change"] and _reads_added(plan, added, root, version):
        _conflict(root, what, version, f"added {len(added)} files holding rows this write read")
    return "retry"


def _reads_added(plan: dict[str, Any], added: list[dict[str, Any]], root: str, version: int) -> bool:
    """Whether the files ``added`` concurrently may hold rows this write read (a blind append reads none)."""
    label = plan["operation"]
    if label == "WRITE" or label == "OPTIMIZE":
        return False
    if label == "REPLACE WHERE":
        try:  # the winner's snapshot prunes its own files by the predicate (partition values, statistics)
            uris = storage.table(root, version=version).file_uris(file_pruning_predicate=plan["predicate"])
        except Exception:  # a predicate delta-rs cannot evaluate: every added file may match
            return True
        matching = {_local(u) for u in uris}
        return any(_local(storage.join(root, _decoded(a["path"]))) in matching for a in added)
    if label == "MERGE" and not plan["merge"].get("delete_missing") and plan["merge"].get("key_ranges"):
        return any(_may_hold_keys(a, plan["merge"]["key_ranges"]) for a in added)
    return True  # OVERWRITE and MERGE read the whole table


def _may_hold_keys(add: dict[str, Any], ranges: dict[str, list[Any]]) -> bool:
    """False only when a key's min/max statistics in ``add`` lie outside the merge source's range."""
    stats = json.loads(add.get("stats") or "{}")
    for key, (lo, hi) in ranges.items():
        file_lo, file_hi = stats.get("minValues", {}).get(key), stats.get("maxValues", {}).get(key)
        if file_lo is not None and file_hi is not None and (file_hi < lo or file_lo > hi):
            return False
    return True


def _conflict(root: str, operation: str, version: int, what: str) -> None:
    raise ConcurrentWriteError(
        f"table at {root}: {operation} conflicts with the concurrent commit {version}, which {what}; nothing was "
        "committed, re-run the operation")


def _txn_done(root: str, txn: dict[str, Any]) -> bool:
    exists = DeltaTable.is_deltatable(root, storage_options=storage.options(root))
    seen = storage.table(root).transaction_version(txn["app_id"]) if exists else None
    return seen is not None and seen >= txn["version"]


def _nothing_done(root: str, adds: list[dict[str, Any]]) -> Outcome:
    storage.delete([storage.join(root, a["path"]) for a in adds])
    return Outcome(storage.table(root).version(), False, 0, 0, 0)


def _decoded(path: str) -> str:
    return unquote(path)


def _local(uri: str) -> str:
    return os.path.normpath(uri.removeprefix("file://"))


# ---------------------------------------------------------------------------- the log file


def _put_if_absent(log_dir: str, version: int, actions: list[dict[str, Any]]) -> bool:
    """Create ``<version>.json`` with ``actions`` unless it exists; whether we created it.

    The file is written whole under a temporary name (which Delta readers ignore) and hard-linked into
    place: the link fails if the version exists, so readers never see a partial commit and two writers
    never both win.
    """
    _, folder = storage.filesystem(log_dir)
    folder = folder.removeprefix("file://")
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, f"{version:020d}.json")
    if os.path.exists(target):
        return False
    temp = os.path.join(folder, f".{version:020d}.json.{uuid.uuid4().hex}.tmp")
    with open(temp, "w", encoding="utf-8") as out:
        out.write("\n".join(json.dumps(a, separators=(",", ":")) for a in actions) + "\n")
        out.flush()
        os.fsync(out.fileno())
    try:
        os.link(temp, target)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(temp)


def _checkpoint_if_due(root: str, version: int, create: dict[str, Any] | None, snapshot: DeltaTable | None) -> None:
    """A checkpoint every ``delta.checkpointInterval`` commits, as Delta's writers make them."""
    assert create is not None or snapshot is not None
    config = create["configuration"] if create is not None else snapshot.metadata().configuration
    interval = int(config.get("delta.checkpointInterval") or DEFAULT_CHECKPOINT_INTERVAL)
    if version > 0 and version % interval == 0:
        storage.table(root).create_checkpoint()


def validate_adds(adds: list[dict[str, Any]], partition_by: list[str], root: str) -> None:
    """Every added file carries exactly the table's partition values (delta-rs would not check)."""
    for a in adds:
        if set(a["partition_values"]) != set(partition_by):
            raise TableError(
                f"table at {root}: file {a['path']} has partition values for "
                f"{sorted(a['partition_values'])}, expected {partition_by}; nothing was committed"
            )
