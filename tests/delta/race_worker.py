"""A writer process for the race tests: its own Spark session, Lakehouse operations on command.

Reads one JSON command per line on stdin: ``{"engine", "op", "rows", "day"?}``. It prepares the
operation's rows (so the racers start together), prints ``{"ready": true}``, waits for a ``go`` line, then
runs the operation and prints its outcome: ``{"committed", "version"}`` or ``{"error", "kind"}``.
Ops: ``append``, ``merge`` (by id), ``replace`` (the rows of one day, replaceWhere), ``create``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from deltahelpers import lakehouse_factory
from pyspark.sql import DataFrame, SparkSession

from modelscale.config.models import SparkSettings
from modelscale.delta import CommitResult, Lakehouse
from modelscale.errors import ModelscaleError
from modelscale.session import get_spark

SCHEMA = "id long, day date, amount double, writer string"
TABLE = {"partition_by": ["day"]}


def frame(spark: SparkSession, rows: list[list]) -> DataFrame:
    data = [(i, dt.date.fromisoformat(day), amount, writer) for i, day, amount, writer in rows]
    return spark.createDataFrame(data, SCHEMA).coalesce(1)


def run(lake: Lakehouse, op: str, df: DataFrame, day: str | None) -> CommitResult:
    if op == "merge":
        return lake.merge("t", df, ["id"])
    if op == "replace":
        return lake.overwrite("t", df, replace_where=f"day = '{day}'")
    return lake.append("t", df)


def main(root: str) -> None:
    spark = get_spark(SparkSettings(master="local[1]", shuffle_partitions=1, app_name="race-worker"))
    lakes = {engine: lakehouse_factory(spark, Path(root) / engine, engine)(t=TABLE) for engine in ("native", "delta-rs")}
    for line in sys.stdin:
        command = json.loads(line)
        lake = lakes[command["engine"]]
        df = frame(spark, command["rows"]).cache()
        df.count()
        print(json.dumps({"ready": True}), flush=True)
        assert sys.stdin.readline().strip() == "go"
        try:
            result = run(lake, command["op"], df, command.get("day"))
            outcome = {"committed": result.committed, "version": result.version}
        except ModelscaleError as exc:
            outcome = {"error": str(exc), "kind": type(exc).__name__}
        df.unpersist()
        print(json.dumps(outcome), flush=True)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
