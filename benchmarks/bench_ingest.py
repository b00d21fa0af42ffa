"""Ingest cost: a full year of daily landing files to bronze + silver vs plain Spark CSV to parquet.

    python benchmarks/bench_ingest.py [days]

Both sides read the same demo landing files (365 flights + 365 weather files and the three
reference snapshots) with the declared schema. The baseline writes each source as parquet; the
ingest job does everything it does in production (fingerprints, malformed-record detection, counts,
bronze + quarantine + silver MERGE + ingest log). Both are warmed up first on one day. Record
``ratio`` = baseline seconds / ingest seconds; target: the ingest costs at most 2x (ratio >= 0.5).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pyspark.sql import SparkSession

from modelscale.catalog import Catalog
from modelscale.config import load_config
from modelscale.config.models import AppConfig, StorageSettings
from modelscale.delta import Lakehouse, select_engine
from modelscale.ingest import job
from modelscale.ingest.demo_data import write_landing
from modelscale.jobs.context import JobContext

START = dt.date(2013, 1, 1)


def _config(root: Path, landing: Path) -> AppConfig:
    cfg = load_config("local", "flights_delay")
    storage = StorageSettings(root=str(root / "tables"), landing=str(landing))
    return cfg.model_copy(update={"settings": cfg.settings.model_copy(update={"storage": storage})})


def _ingest(spark: SparkSession, cfg: AppConfig, dates: list[dt.date]) -> tuple[float, int]:
    lakehouse = Lakehouse(spark, Catalog(cfg.settings, cfg.pipeline), select_engine(spark, "delta-rs"))
    start = time.perf_counter()
    result = job.run(JobContext(config=cfg, spark=spark, lakehouse=lakehouse, run_dates=dates, run_id="bench"))
    return time.perf_counter() - start, sum(s["rows_read"] for s in result.summary["sources"].values())


def _baseline(spark: SparkSession, cfg: AppConfig, dates: list[dt.date], out: Path) -> float:
    """Plain Spark: read each source's same files with the declared schema, write parquet."""
    assert cfg.pipeline is not None
    landing = Path(cfg.settings.storage.landing)
    start = time.perf_counter()
    for name, src in cfg.pipeline.sources.items():
        files = sorted(str(p) for p in (landing / src.path).glob(src.pattern)
                       if src.snapshot or dt.date.fromisoformat(p.stem[-10:]) in set(dates))
        schema = ", ".join(f"`{c}` {t}" for c, t in src.columns.items())
        (spark.read.csv(files, header=True, nullValue="NA", schema=schema)
         .write.mode("overwrite").parquet(str(out / name)))
    return time.perf_counter() - start


def run(spark: SparkSession, days: int = 365, workdir: Path | None = None) -> list[dict]:
    """Time the full ingest of ``days`` daily files against the CSV-to-parquet baseline."""
    root = Path(workdir or tempfile.mkdtemp(prefix="bench-ingest-"))
    dates = [START + dt.timedelta(days=i) for i in range(days)]
    try:
        landing = root / "landing"
        write_landing(landing, dates[0], dates[-1])
        _ingest(spark, _config(root / "warmup", landing), dates[:1])
        _baseline(spark, _config(root, landing), dates[:1], root / "warmup-parquet")
        baseline = _baseline(spark, _config(root, landing), dates, root / "parquet")
        seconds, rows = _ingest(spark, _config(root / "run", landing), dates)
    finally:
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    return [{
        "name": f"ingest_{days}_days", "rows": rows, "seconds": round(seconds, 2),
        "baseline_seconds": round(baseline, 2), "ratio": round(baseline / seconds, 3), "target": "ratio >= 0.5",
        "note": "bronze+quarantine+silver MERGE+ingest_log (delta-rs) vs Spark CSV->parquet, same files, one run",
    }]


if __name__ == "__main__":
    from modelscale.session import get_spark

    session = get_spark(load_config("local").settings.spark)
    print(json.dumps(run(session, int(sys.argv[1]) if len(sys.argv) > 1 else 365), indent=2))
