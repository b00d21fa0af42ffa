"""The file system holding a path or storage URI, through pyarrow: local paths (and ``file://``), S3 (``s3://``,
``s3a://``, ``s3n://``, with the process's `s3` settings), any other scheme pyarrow knows (``gs://``, ``abfss://``,
``hdfs://``), and Databricks' ``dbfs:/`` through its local mount ``/dbfs`` (``/Volumes/...`` is a local path there).

pyarrow rather than fsspec or Spark: it is already the delta-rs engine's file layer and a dependency, carries S3,
GCS and Azure in its wheel (fsspec needs s3fs, adlfs, gcsfs), and streams a file in pieces, which the landing
checks need (a checksum and a record count per file); Spark's ``binaryFile`` source lists through Hadoop but reads
a file whole into one row. Spark still reads the files themselves, by the same URI.
"""

from __future__ import annotations

import functools

from pyarrow import fs as pafs

from modelscale.config.models import S3Settings
from modelscale.storage import s3

DBFS_MOUNT = "/dbfs"


def join(root: str, rel: str) -> str:
    return f"{root.rstrip('/')}/{rel}"


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """The file system holding ``uri`` and the path to use with it."""
    if uri.startswith("dbfs:/"):
        return pafs.LocalFileSystem(), DBFS_MOUNT + "/" + uri.removeprefix("dbfs:").lstrip("/")
    if "://" not in uri:
        return pafs.LocalFileSystem(), uri
    if uri.startswith("file://"):
        return pafs.LocalFileSystem(), uri.removeprefix("file://")
    if s3.is_s3(uri) and s3.current() is not None:
        return _s3(s3.current()), uri.split("://", 1)[1]
    return pafs.FileSystem.from_uri(s3.plain(uri))


def list_files(folder: str) -> list[pafs.FileInfo]:
    """The files right in ``folder`` (not in its sub-folders); FileNotFoundError when there is no such folder."""
    fs, path = filesystem(folder)
    found = fs.get_file_info(pafs.FileSelector(path.rstrip("/"), allow_not_found=False))
    return [info for info in found if info.type == pafs.FileType.File]


@functools.lru_cache(maxsize=4)
def _s3(settings: S3Settings) -> pafs.S3FileSystem:
    return s3.arrow_filesystem(settings)
