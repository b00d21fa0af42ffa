"""The Spark Python data source ``modelscale_delta``: distributed parquet writes, one Delta commit.

Tasks stream Arrow batches into files (`files.PartitionedFileWriter`) and return their add
actions; a failing task deletes its own files. The driver-side ``commit`` reads the write's plan
(a JSON file the engine wrote: operation, read version, removes, Txn, metadata, columns to add),
makes ONE delta-rs commit and leaves the outcome (or the error) in a result file for the engine.
``abort`` deletes the files of every task that finished, unless the log holds the write (a commit
that landed and then failed to report back).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from pyspark.sql.datasource import DataSource, DataSourceArrowWriter, WriterCommitMessage
from pyspark.sql.types import StructType

from modelscale.delta.rs import files, log, storage
from modelscale.errors import ModelscaleError
from modelscale.storage import s3

NAME = "modelscale_delta"


@dataclass
class FilesWritten(WriterCommitMessage):
    adds: list[dict[str, Any]]


class DeltaRsDataSource(DataSource):
    """Options: path, plan, result (URIs), write_id, partition_by (JSON list), target_bytes, max_open,
    data_change, and the driver's S3 settings (`s3.OPTION`): tasks and the commit run in other processes."""

    @classmethod
    def name(cls) -> str:
        return NAME

    def writer(self, schema: StructType, overwrite: bool) -> DeltaRsWriter:
        return DeltaRsWriter(self.options)


class DeltaRsWriter(DataSourceArrowWriter):
    def __init__(self, options: dict[str, str]) -> None:
        self.root = options["path"]
        self.plan_uri = options["plan"]
        self.result_uri = options["result"]
        self.write_id = options["write_id"]
        self.partition_by: list[str] = json.loads(options.get("partition_by", "[]"))
        self.target_bytes = int(options["target_bytes"])
        self.max_open = int(options["max_open"])
        self.data_change = options.get("data_change", "true") == "true"
        self.s3 = options.get(s3.OPTION, "")

    def write(self, iterator: Any) -> FilesWritten:
        s3.configure(s3.from_option(self.s3))
        out = files.PartitionedFileWriter(self.root, self.partition_by, self.target_bytes, self.max_open,
                                          self.data_change)
        try:
            for batch in iterator:
                out.write(batch)
            return FilesWritten(out.finish())
        except BaseException:
            out.discard()
            raise

    def commit(self, messages: list[WriterCommitMessage | None]) -> None:
        s3.configure(s3.from_option(self.s3))
        adds = [a for m in messages if isinstance(m, FilesWritten) for a in m.adds]
        plan = storage.read_json(self.plan_uri)
        try:
            if plan is None:
                raise ModelscaleError(f"table at {self.root}: the write plan {self.plan_uri} is missing")
            outcome = log.commit(self.root, plan, adds)
        except Exception as exc:
            error = {"kind": type(exc).__name__, "message": str(exc)}
            storage.write_json(self.result_uri, {"error": error})
            raise
        storage.write_json(self.result_uri, asdict(outcome))

    def abort(self, messages: list[WriterCommitMessage | None]) -> None:
        s3.configure(s3.from_option(self.s3))
        if log.landed(self.root, self.write_id):
            return
        adds = [a for m in messages if isinstance(m, FilesWritten) for a in m.adds]
        storage.delete([storage.join(self.root, a["path"]) for a in adds])
