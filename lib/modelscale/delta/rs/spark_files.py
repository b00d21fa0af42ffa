"""Unpartitioned writes through Spark's own parquet writer, for a driver-side commit.

Spark writes the job's files into a folder of their own under the table root (its output committer
publishes them only when every task succeeded); the driver then reads each file's footer for its
add-action data. This skips the Python data source, whose every write costs three driver-worker
round trips and whose tasks convert rows to Arrow. Partitioned tables keep the data source path:
it names files and partition values exactly as the Delta log expects.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow.parquet as pq
from pyarrow import fs as pafs
from pyspark.sql import DataFrame
from pyspark.sql.types import (ArrayType, BooleanType, ByteType, DataType, DateType, DecimalType, DoubleType, FloatType,
                               IntegerType, LongType, MapType, ShortType, StructType, TimestampNTZType, TimestampType)

from modelscale.delta.rs import storage
from modelscale.delta.rs.files import add_action

# Delta readers expect INT64 timestamps, and only those carry min/max statistics (Spark's default is INT96).
TIMESTAMP_CONF = ("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
_FOOTER_THREADS = 8


def write(df: DataFrame, root: str, folder: str, *, target_bytes: int, data_change: bool) -> list[dict[str, Any]]:
    """Write ``df`` as parquet files into ``root/folder``; their add-action data (empty files dropped).

    Spark rolls files by row count only: a file holds at most ``target_bytes`` worth of rows at their
    estimated uncompressed width (see `row_bytes`), so files stay about that size or smaller. If the
    job fails, Spark's committer has published nothing, and the folder is removed.
    """
    uri = storage.join(root, folder)
    try:
        (df.write.mode("error").option("compression", "snappy")
         .option("maxRecordsPerFile", str(max(1, target_bytes // row_bytes(df.schema))))
         .option("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false").parquet(uri))
    except BaseException:
        storage.delete_dir(uri)
        raise
    return _adds(root, folder, data_change)


_FIXED_BYTES = {BooleanType: 1, ByteType: 1, ShortType: 2, IntegerType: 4, FloatType: 4, DateType: 4, LongType: 8,
                DoubleType: 8, TimestampType: 8, TimestampNTZType: 8, DecimalType: 16}
_VARIABLE_BYTES = 32  # a string or binary value, an array or map: unknown before the write, so a typical size
_NESTED_ELEMENTS = 4


def row_bytes(schema: StructType) -> int:
    """An estimate of one row's uncompressed width in bytes."""
    return max(1, sum(_value_bytes(f.dataType) for f in schema.fields))


def _value_bytes(data_type: DataType) -> int:
    if isinstance(data_type, StructType):
        return row_bytes(data_type)
    if isinstance(data_type, ArrayType):
        return _NESTED_ELEMENTS * _value_bytes(data_type.elementType)
    if isinstance(data_type, MapType):
        return _NESTED_ELEMENTS * (_value_bytes(data_type.keyType) + _value_bytes(data_type.valueType))
    return _FIXED_BYTES.get(type(data_type), _VARIABLE_BYTES)


def _adds(root: str, folder: str, data_change: bool) -> list[dict[str, Any]]:
    fs, path = storage.filesystem(storage.join(root, folder))
    listed = [i for i in fs.get_file_info(pafs.FileSelector(path)) if i.type == pafs.FileType.File]
    for info in listed:  # Hadoop's local file system leaves a checksum file beside each file; vacuum never would
        if info.base_name.endswith(".crc"):
            fs.delete_file(info.path)

    def footer(info: pafs.FileInfo) -> tuple[pafs.FileInfo, pq.FileMetaData]:
        with fs.open_input_file(info.path) as f:
            return info, pq.read_metadata(f)

    found = [i for i in listed if i.base_name.endswith(".parquet") and i.base_name[0] not in "._"]
    with ThreadPoolExecutor(max_workers=_FOOTER_THREADS) as pool:
        footers = list(pool.map(footer, found))
    adds = []
    for info, meta in footers:
        if meta.num_rows == 0:  # Spark writes one schema-only file for a frame without rows
            fs.delete_file(info.path)
        else:
            adds.append(add_action(f"{folder}/{info.base_name}", info.size, {}, meta, data_change))
    return adds
