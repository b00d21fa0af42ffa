"""The validate job on small Delta tables: outcomes, quarantine, dq_results, Data Docs and the gate."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from chispa import assert_df_equality

from modelscale.catalog import Catalog
from modelscale.config import load_config
from modelscale.config.validation import ValidationConfig
from modelscale.context import JobContext
from modelscale.delta import Lakehouse, select_engine
from modelscale.quality import job
from modelscale.quality.gate import ValidationGateError, check_usable

D1, D2 = dt.date(2013, 1, 1), dt.date(2013, 1, 2)
FLIGHTS = "carrier string, flight int, origin string, distance double, flight_date date"
SUITE = {
    "flights": {
        "date_column": "flight_date",
        "expectations": [
            {"type": "expect_column_values_to_be_in_set",
             "kwargs": {"column": "carrier", "value_set": {"$PARAMETER": "distinct:airlines.carrier"}}},
            {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "origin", "value_set": ["EWR", "JFK", "LGA"]},
             "severity": "warn"},
            {"type": "expect_column_values_to_be_between", "name": "distance_positive",
             "kwargs": {"column": "distance", "min_value": 0, "strict_min": True}},
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": 10}},
        ],
    }
}


@pytest.fixture
def ctx(spark, home):
    cfg = load_config("local", "flights_delay")
    pipeline = cfg.pipeline.model_copy(update={"validation": ValidationConfig.model_validate({"suites": SUITE})})
    cfg = cfg.model_copy(update={"pipeline": pipeline})
    lh = Lakehouse(spark, Catalog(cfg.settings, cfg.pipeline), select_engine(spark, "delta-rs"))
    lh.overwrite("airlines", spark.createDataFrame([("AA", "American"), ("B6", "JetBlue")], "carrier string, name string"))
    lh.overwrite("flights", spark.createDataFrame([
        ("AA", 1, "JFK", 100.0, D1), ("B6", 2, "LGA", 200.0, D1),                      # D1: all pass
        ("AA", 3, "JFK", 100.0, D2), ("ZZ", 4, "EWR", 50.0, D2), ("B6", 5, "BOS", 0.0, D2),  # D2: failures
    ], FLIGHTS))
    return JobContext(config=cfg, spark=spark, lakehouse=lh, run_dates=[D1], run_id="r1")


def test_passing_date_writes_results_and_docs(ctx, home):
    result = job.run(ctx)
    version = ctx.lakehouse.version("flights")
    assert result.ok, result.message
    assert result.summary["flights"] == {"version": version, "rows": 2, "passed": 2, "quarantined": 0,
                                         "failed_error": 0, "failed_warn": 0}
    assert not ctx.lakehouse.exists("flights_quarantine")
    rows = ctx.lakehouse.read("dq_results").orderBy("expectation").collect()
    assert [(r.run_id, r.run_date, r.table, r.table_version, r.success) for r in rows] == [("r1", D1, "flights", version, True)] * 4
    page = home / "data_docs" / "validations" / "flights" / "2013-01-01_r1.html"
    assert "modelscale.flights" in page.read_text()
    assert "modelscale.flights" in (home / "data_docs" / "expectations" / "modelscale.flights.html").read_text()
    assert "2013-01-01_r1" in (home / "data_docs" / "index.html").read_text()
    check_usable(ctx.lakehouse, "flights", version)


def test_error_failures_fail_the_job_quarantine_rows_and_close_the_gate(ctx, spark):
    ctx.run_dates = [D2]
    result = job.run(ctx)
    version = ctx.lakehouse.version("flights")
    assert not result.ok
    assert result.summary["flights"] == {"version": version, "rows": 3, "passed": 1, "quarantined": 2,
                                         "failed_error": 2, "failed_warn": 1}
    assert "2 expectation(s) failed at error severity" in result.message
    assert "expect_column_values_to_be_in_set(carrier) [error] 1 unexpected of 3 (33.33%)" in result.message
    assert "distance_positive [error] 1 unexpected of 3" in result.message
    quarantine = ctx.lakehouse.read("flights_quarantine").drop("_dq_run_id", "_dq_table_version")
    expected = spark.createDataFrame([
        ("ZZ", 4, "EWR", 50.0, D2, ["expect_column_values_to_be_in_set(carrier)"], D2),
        ("B6", 5, "BOS", 0.0, D2, ["expect_column_values_to_be_in_set(origin)", "distance_positive"], D2),
    ], FLIGHTS + ", _dq_failed array<string>, _dq_run_date date")
    assert_df_equality(quarantine.select(*expected.columns), expected, ignore_row_order=True, ignore_nullable=True)
    failed = {r.expectation: (r.observed_value, r.unexpected_count) for r in
              ctx.lakehouse.read("dq_results").where("NOT success").collect()}
    assert failed == {"expect_column_values_to_be_in_set(carrier)": (None, 1),
                      "expect_column_values_to_be_in_set(origin)": (None, 1), "distance_positive": (None, 1)}

    with pytest.raises(ValidationGateError, match=f"table flights version {version} failed validation at error severity"):
        check_usable(ctx.lakehouse, "flights", version)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    gate_log = logging.getLogger("modelscale.quality.gate")
    gate_log.addHandler(handler)
    try:
        check_usable(ctx.lakehouse, "flights", version, override=True)
    finally:
        gate_log.removeHandler(handler)
    assert [r.levelname for r in records] == ["WARNING"]
    assert "used anyway because --allow-failed-validation" in records[0].getMessage()

    # a re-run replaces the date's quarantine rows instead of adding to them
    job.run(ctx)
    assert ctx.lakehouse.read("flights_quarantine").count() == 2
