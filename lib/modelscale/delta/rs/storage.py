"""File access under a table root through pyarrow filesystems (local paths and storage URIs)."""

from __future__ import annotations

import json
from typing import Any

from pyarrow import fs as pafs


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem holding ``uri`` and the path to use with it."""
    if "://" not in uri:
        return pafs.LocalFileSystem(), uri
    return pafs.FileSystem.from_uri(uri)


def join(root: str, rel: str) -> str:
    return f"{root.rstrip('/')}/{rel}"


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
