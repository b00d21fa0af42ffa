"""Delta (through `Lakehouse`) vs plain Spark parquet: write then read the same DataFrame, same disk.

    python benchmarks/bench_delta.py [rows]

Ratios are throughput relative to parquet (>1 is faster). Targets: write >= 0.8, read >= 0.9.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from modelscale.catalog import Catalog
from modelscale.config.models import PipelineConfig, Settings, SparkSettings
from modelscale.delta import Lakehouse, select_engine
from modelscale.session import get_spark


def frame(spark: SparkSession, rows: int) -> DataFrame:
    """``rows`` rows of long/double/string/date/timestamp/bool, partition column with 8 values."""
    base = dt.datetime(2024, 1, 1)
    return spark.range(rows).select(
        F.col("id"),
        (F.col("id") * 0.37).alias("amount"),
        F.concat(F.lit("customer-"), (F.col("id") % 100_000).cast("string")).alias("customer"),
        F.date_add(F.lit(base.date()), (F.col("id") % 365).cast("int")).alias("day"),
        (F.lit(base) + F.make_interval(secs=(F.col("id") % 86_400).cast("int"))).alias("ts"),
        (F.col("id") % 3 == 0).alias("flag"),
        F.concat(F.lit("region-"), (F.col("id") % 8).cast("string")).alias("region"),
    )


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _record(name: str, rows: int, seconds: float, baseline: float, target: float) -> dict:
    return {"name": name, "rows": rows, "seconds": round(seconds, 2), "baseline_seconds": round(baseline, 2),
            "ratio": round(baseline / seconds, 3), "target": f"ratio >= {target}",
            "note": "Lakehouse vs Spark parquet, partitioned by region (8 values), snappy, same disk"}


def _warm_up(spark: SparkSession, lake: Lakehouse, root: Path) -> None:
    """A small write and read of each kind first, so neither side pays JVM/Python-worker start-up."""
    small = frame(spark, 10_000)
    small.write.partitionBy("region").parquet(str(root / "warm-parquet"))
    spark.read.parquet(str(root / "warm-parquet")).count()
    lake.append("warm", small)
    lake.read("warm").count()


def run(spark: SparkSession, rows: int = 5_000_000, workdir: Path | None = None) -> list[dict]:
    """Write then read ``rows`` rows as parquet and as a Delta table (partitioned by region)."""
    root = Path(workdir or tempfile.mkdtemp(prefix="bench-delta-"))
    try:
        settings = Settings.model_validate({
            "env": "bench", "home": str(root), "storage": {"root": str(root / "tables"), "landing": str(root)},
            "mlflow": {"tracking_uri": f"sqlite:///{root}/m.db", "artifact_location": str(root / "mlruns")},
        })
        pipeline = PipelineConfig.model_validate({
            "name": "bench", "schedule": {"start_date": "2024-01-01"},
            "tables": {name: {"layer": "silver", "partition_by": ["region"]} for name in ("bench", "warm")},
        })
        lake = Lakehouse(spark, Catalog(settings, pipeline), select_engine(spark, settings.delta.engine))
        _warm_up(spark, lake, root)
        df = frame(spark, rows).cache()
        df.count()
        parquet = str(root / "parquet")
        pq_write = _timed(lambda: df.write.partitionBy("region").parquet(parquet))
        delta_write = _timed(lambda: lake.append("bench", df))
        read_agg = [F.count("*"), F.sum("amount"), F.max("customer"), F.max("day"), F.max("ts"),
                    F.sum(F.col("flag").cast("int"))]
        pq_read = _timed(lambda: spark.read.parquet(parquet).agg(*read_agg).collect())
        delta_read = _timed(lambda: lake.read("bench").agg(*read_agg).collect())
        df.unpersist()
        return [
            _record(f"delta write ({lake.engine_name}) vs parquet", rows, delta_write, pq_write, 0.8),
            _record(f"delta read ({lake.engine_name}) vs parquet", rows, delta_read, pq_read, 0.9),
        ]
    finally:
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
    session = get_spark(SparkSettings(master="local[2]", app_name="bench-delta", shuffle_partitions=4,
                                      driver_memory="3g"))
    for record in run(session, n):
        print(json.dumps(record))
