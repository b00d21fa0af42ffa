"""The features job on one real day: it reads only passing silver rows, and validates its own output."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from modelscale.catalog import Catalog
from modelscale.config import load_config
from modelscale.context import JobContext
from modelscale.delta import Lakehouse, select_engine
from modelscale.features.inputs import pin_versions
from modelscale.features.job import run as features
from modelscale.quality.gate import ValidationGateError
from modelscale.quality.job import run as validate
from modelscale.quality.passing import read_passing

D = dt.date(2013, 1, 2)
FLIGHTS_ON_D = 943
X = f"carrier = 'DL' AND flight = 1443 AND flight_date = '{D}'"  # LGA, 12:00 local
LGA_NOON = dt.datetime(2013, 1, 2, 17, 0)  # 12:00 New York time in UTC
# flights that arrived without an air_time on D (diverted): the demo suite quarantines them
DIVERTED = [("EV", 4140), ("9E", 3658), ("9E", 3325), ("EV", 4321), ("9E", 3401)]


def _context(spark: SparkSession, silver: dict[str, DataFrame], flights: DataFrame) -> JobContext:
    """Silver tables (flights of D only) and a context for D."""
    cfg = load_config("local", "flights_delay")
    lh = Lakehouse(spark, Catalog(cfg.settings, cfg.pipeline), select_engine(spark, "delta-rs"))
    lh.overwrite("flights", flights.where(F.col("flight_date") == D))
    lh.overwrite("weather", silver["weather"])
    lh.overwrite("planes", silver["planes"])
    lh.overwrite("airlines", flights.select("carrier").distinct().withColumn("name", F.col("carrier")))
    return JobContext(config=cfg, spark=spark, lakehouse=lh, run_dates=[D], run_id="t1",
                      flags={"allow_failed_validation": False})


def test_rows_quarantined_in_silver_do_not_reach_the_features(spark, home, silver):
    ctx = _context(spark, silver, silver["flights"].withColumn(
        "air_time", F.when(F.expr(X), F.lit(None)).otherwise(F.col("air_time"))))
    lh = ctx.lakehouse

    checked = validate(ctx)
    result = features(ctx)

    assert checked.ok and set(checked.summary) == {"flights", "weather"}, checked.message  # features: its own job
    quarantine = lh.read("flights_quarantine")
    assert sorted((r.carrier, r.flight) for r in quarantine.collect()) == sorted([*DIVERTED, ("DL", 1443)])
    assert result.ok, result.message
    assert result.summary["inputs"]["flights_quarantine"] == lh.version("flights_quarantine")
    rows = lh.read("features")
    assert rows.count() == FLIGHTS_ON_D - 6 == result.summary["rows"] == result.summary["validation"]["features"]["rows"]
    keys = ["carrier", "flight", "origin", "sched_dep_ts"]
    assert rows.join(quarantine.select(*keys), keys, "left_semi").count() == 0
    # DL 1443's neighbours, the other flights from LGA at noon, are all there
    noon = rows.where((F.col("origin") == "LGA") & (F.col("sched_dep_ts") == F.lit(LGA_NOON))).select("carrier", "flight")
    expected = spark.createDataFrame([("MQ", 4658), ("DL", 1705), ("DL", 1947), ("MQ", 4601)], "carrier string, flight int")
    assert_df_equality(noon, expected, ignore_row_order=True, ignore_nullable=True)


def test_a_feature_row_breaking_an_error_rule_is_quarantined_and_fails_the_job(spark, home, silver):
    # 24:00 is no hour: dep_hour 24 breaks the features suite (sched_dep_ts is left as it was)
    ctx = _context(spark, silver, silver["flights"].withColumn(
        "sched_dep_time", F.when(F.expr(X), F.lit(2400)).otherwise(F.col("sched_dep_time"))))
    lh = ctx.lakehouse

    result = features(ctx)

    version = lh.version("features")
    assert not result.ok
    assert "1 expectation(s) failed at error severity" in result.message
    assert f"features {D}: expect_column_values_to_be_between(dep_hour) [error] 1 unexpected of {FLIGHTS_ON_D}" \
        in result.message
    assert result.summary["validation"]["features"] == {"version": version, "rows": FLIGHTS_ON_D,
                                                        "passed": FLIGHTS_ON_D - 1, "quarantined": 1,
                                                        "failed_error": 1, "failed_warn": 0}
    got = lh.read("features_quarantine").select("carrier", "flight", "origin", "dep_hour", "_dq_failed",
                                                  "_dq_run_date", "_dq_table_version")
    expected = spark.createDataFrame(
        [("DL", 1443, "LGA", 24, ["expect_column_values_to_be_between(dep_hour)"], D, version)],
        "carrier string, flight int, origin string, dep_hour int, _dq_failed array<string>, _dq_run_date date, "
        "_dq_table_version long")
    assert_df_equality(got, expected, ignore_nullable=True)
    results = lh.read("dq_results").where("table = 'features'").collect()
    assert len(results) == 12 and {(r.run_id, r.run_date, r.table_version) for r in results} == {("t1", D, version)}
    assert [r.expectation for r in results if not r.success] == ["expect_column_values_to_be_between(dep_hour)"]
    assert (home / "data_docs" / "validations" / "features" / f"{D}_t1.html").is_file()

    # train's gate refuses that version; overridden, the quarantined row is still left out
    with pytest.raises(ValidationGateError, match=f"table features version {version} failed validation"):
        pin_versions(ctx, ["features"])
    ctx.flags["allow_failed_validation"] = True
    versions = pin_versions(ctx, ["features"])
    assert versions == {"features": version, "features_quarantine": lh.version("features_quarantine")}
    passing = read_passing(lh, ctx.pipeline, "features", versions, where=f"flight_date = '{D}'")
    assert passing.count() == FLIGHTS_ON_D - 1 and passing.where(X).count() == 0
