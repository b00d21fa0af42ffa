"""File and table access under a table root (local paths and storage URIs), with the process's storage settings
(`modelscale.storage`): pyarrow file systems for files, delta-rs ``storage_options`` for the log."""

from __future__ import annotations

import json
from typing import Any

from deltalake import DeltaTable

from modelscale.storage import s3
from modelscale.storage.files import filesystem, join

__all__ = ["filesystem", "join", "options", "table", "write_json", "read_json", "delete", "delete_dir"]


def options(root: str) -> dict[str, str] | None:
    """delta-rs ``storage_options`` for the table at ``root`` (None: delta-rs's defaults)."""
    return s3.delta_options(s3.current()) if s3.is_s3(root) else None


def table(root: str, version: int | None = None) -> DeltaTable:
    """The Delta table at ``root`` (at ``version``), opened with the storage settings."""
    return DeltaTable(root, version=version, storage_options=options(root))


def write_json(uri: str, payload: dict[str, Any]) -> None:
    fs, path = filesystem(uri)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as out:
        out.write(json.dumps(payload).encode())


def read_json(uri: str) -> dict[str, Any] | None:
    """The JSON object at ``uri``, or None when there is no such file."""
    fs, path = filesystem(uri)
    try:
        with fs.open_input_stream(path) as f:
            return json.loads(f.read())
    except FileNotFoundError:
        return None


def delete(uris: list[str]) -> None:
    """Delete files, ignoring ones already gone."""
    for uri in uris:
        fs, path = filesystem(uri)
        try:
            fs.delete_file(path)
        except FileNotFoundError:
            pass


def delete_dir(uri: str) -> None:
    """Delete a folder and everything in it, ignoring one already gone."""
    fs, path = filesystem(uri)
    try:
        fs.delete_dir(path)
    except FileNotFoundError:
        pass
