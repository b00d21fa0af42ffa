"""Task side of a write: stream Arrow batches into parquet files under the table root.

Batches are split by partition value and buffered per value (at most ``BUFFER_BYTES`` pending per
task, flushed as row groups of about ``ROW_GROUP_BYTES``). A value's file is opened only when its
buffer is flushed, so a value that reappears across batches keeps going to the same file. At most
``max_open`` files are open per task: when a flush needs another one, the least recently used file
is closed, and a value whose file was closed gets a new file only if more of its rows come later.
Files roll at ``target_bytes``. The engine sorts each task's rows by the partition columns, so in
practice a task writes one file per partition value (more only past the size limit). Every finished
file yields its add-action data with statistics read from the parquet footer it just wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from modelscale.delta.rs import partitions, storage

ROW_GROUP_BYTES = 32 * 1024 * 1024
BUFFER_BYTES = 2 * ROW_GROUP_BYTES  # all partition values' unwritten batches together

Key = tuple[str | None, ...]


@dataclass
class _OpenFile:
    rel_path: str
    values: dict[str, str | None]
    stream: Any
    writer: pq.ParquetWriter | None = None


@dataclass
class _Pending:
    batches: list[pa.RecordBatch] = field(default_factory=list)
    nbytes: int = 0


class PartitionedFileWriter:
    """Writes one task's batches; `finish` returns add-action dicts, `discard` deletes its files."""

    def __init__(self, root: str, partition_by: list[str], target_bytes: int, max_open: int,
                 data_change: bool) -> None:
        self._root = root.rstrip("/")
        self._fs, self._fs_root = storage.filesystem(self._root)
        self._partition_by = partition_by
        self._target_bytes = target_bytes
        self._max_open = max(1, max_open)
        self._data_change = data_change
        self._open: OrderedDict[Key, _OpenFile] = OrderedDict()  # least recently used first
        self._pending: dict[Key, _Pending] = {}
        self._pending_bytes = 0
        self._written: list[str] = []
        self._actions: list[dict[str, Any]] = []
        self._prefix = f"part-{uuid.uuid4()}"

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        group_bytes = min(ROW_GROUP_BYTES, self._target_bytes)
        for key, part in self._split(batch):
            data = part.drop_columns(self._partition_by) if self._partition_by else part
            pending = self._pending.setdefault(key, _Pending())
            pending.batches.append(data)
            pending.nbytes += data.nbytes
            self._pending_bytes += data.nbytes
            if pending.nbytes >= group_bytes:
                self._flush(key)
        while self._pending_bytes > BUFFER_BYTES:
            self._flush(max(self._pending, key=lambda k: self._pending[k].nbytes))

    def finish(self) -> list[dict[str, Any]]:
        for key in list(self._pending):  # each value's last rows, then its file is done
            self._flush(key)
            self._close(key)
        for key in list(self._open):
            self._close(key)
        return self._actions

    def discard(self) -> None:
        for f in self._open.values():
            try:
                if f.writer is not None:
                    f.writer.close()
                f.stream.close()
            except Exception:  # the file is deleted next whatever state it is in
                pass
        self._open.clear()
        self._pending.clear()
        storage.delete([storage.join(self._root, rel) for rel in self._written])

    def _split(self, batch: pa.RecordBatch) -> list[tuple[Key, pa.RecordBatch]]:
        if not self._partition_by:
            return [((), batch)]
        keys = pa.table([batch.column(c) for c in self._partition_by], names=self._partition_by)
        uniques = keys.group_by(self._partition_by, use_threads=False).aggregate([]).to_pylist()
        if len(uniques) == 1:
            return [(self._key(uniques[0]), batch)]
        out = []
        for row in uniques:
            mask = None
            for col, value in row.items():
                m = pc.is_null(batch.column(col)) if value is None else pc.equal(batch.column(col), value)
                mask = m if mask is None else pc.and_(mask, m)
            out.append((self._key(row), batch.filter(pc.fill_null(mask, False))))
        return out

    def _key(self, row: dict[str, Any]) -> Key:
        return tuple(partitions.to_delta(row[c]) for c in self._partition_by)

    def _file_for(self, key: Key) -> _OpenFile:
        f = self._open.get(key)
        if f is not None:
            self._open.move_to_end(key)
            return f
        while len(self._open) >= self._max_open:
            self._close(next(iter(self._open)))
        values = dict(zip(self._partition_by, key, strict=True))
        folder = partitions.hive_dir(self._partition_by, values)
        name = f"{self._prefix}-{len(self._written):05d}.c000.snappy.parquet"
        rel = f"{folder}/{name}" if folder else name
        path = f"{self._fs_root}/{rel}"
        if folder:
            self._fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        self._written.append(rel)
        f = self._open[key] = _OpenFile(rel, values, self._fs.open_output_stream(path))
        return f

    def _flush(self, key: Key) -> None:
        """Write ``key``'s buffered rows as one row group (opening its file), rolling at the size limit."""
        pending = self._pending.pop(key, None)
        if pending is None or not pending.batches:
            return
        self._pending_bytes -= pending.nbytes
        f = self._file_for(key)
        table = pa.Table.from_batches(pending.batches)
        if f.writer is None:
            f.writer = pq.ParquetWriter(f.stream, table.schema, compression="snappy")
        f.writer.write_table(table, row_group_size=table.num_rows)
        if f.stream.tell() >= self._target_bytes:
            self._close(key)

    def _close(self, key: Key) -> None:
        f = self._open.pop(key, None)
        if f is None:
            return
        assert f.writer is not None  # a file is only opened to write a non-empty row group
        f.writer.close()
        size = f.stream.tell()
        f.stream.close()
        self._actions.append(add_action(f.rel_path, size, f.values, f.writer.writer.metadata, self._data_change))


def add_action(rel_path: str, size: int, values: dict[str, str | None], meta: pq.FileMetaData,
               data_change: bool) -> dict[str, Any]:
    """The add-action data (`log.commit`'s input) of one finished file, its stats from the footer."""
    return {
        "path": rel_path,
        "size": size,
        "partition_values": values,
        "modification_time": int(time.time() * 1000),
        "data_change": data_change,
        "stats": json.dumps(footer_stats(meta)),
    }


def footer_stats(meta: pq.FileMetaData) -> dict[str, Any]:
    """Delta file statistics (numRecords, minValues, maxValues, nullCount) from a parquet footer."""
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    no_bounds: set[str] = set()
    no_nulls: set[str] = set()
    for rg in range(meta.num_row_groups):
        group = meta.row_group(rg)
        for i in range(group.num_columns):
            col = group.column(i)
            name, st = col.path_in_schema, col.statistics
            if "." in name:  # nested leaves carry no top-level stats
                continue
            if st is None or not st.has_null_count:
                no_nulls.add(name)
            else:
                nulls[name] = nulls.get(name, 0) + st.null_count
                if st.null_count == group.num_rows:
                    continue
            lo, hi = (_stat_value(st.min), _stat_value(st.max)) if st is not None and st.has_min_max else (None, None)
            if lo is None or hi is None:
                no_bounds.add(name)
                continue
            mins[name] = lo if name not in mins else min(mins[name], lo)
            maxs[name] = hi if name not in maxs else max(maxs[name], hi)
    return {
        "numRecords": meta.num_rows,
        "minValues": {k: _json_value(v) for k, v in mins.items() if k not in no_bounds},
        "maxValues": {k: _json_value(v) for k, v in maxs.items() if k not in no_bounds},
        "nullCount": {k: v for k, v in nulls.items() if k not in no_nulls},
    }


def _stat_value(v: Any) -> Any:
    """Values Delta stats can carry exactly; None for those skipped (bool, binary, decimal, NaN)."""
    if isinstance(v, bool) or isinstance(v, bytes):
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, int | float | str | dt.date):
        return v
    return None


def _json_value(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            return v.isoformat(timespec="microseconds")
        return v.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v
