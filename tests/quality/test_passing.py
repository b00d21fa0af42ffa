"""Reading a validated table without its quarantined rows: exact rows, pinned quarantine versions."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from modelscale.catalog import Catalog
from modelscale.config import load_config
from modelscale.delta import Lakehouse, select_engine
from modelscale.quality.passing import quarantine_versions, read_passing

D1, D2 = dt.date(2013, 1, 1), dt.date(2013, 1, 2)
# the flights source's primary key (year, month, day, carrier, flight, origin, sched_dep_time) + the date
FLIGHTS = "year int, month int, day int, carrier string, flight int, origin string, sched_dep_time int, flight_date date"
ROWS = [
    (2013, 1, 1, "AA", 1, "JFK", 600, D1),
    (2013, 1, 1, "AA", 2, "JFK", 700, D1),
    (2013, 1, 1, "AA", 2, "LGA", 700, D1),    # same flight number from another origin: another key
    (2013, 1, 1, "B6", 3, "JFK", None, D1),   # a key with a missing part
    (2013, 1, 2, "AA", 2, "JFK", 700, D2),    # the same flight the next day
]


@pytest.fixture
def setup(spark, home):
    cfg = load_config("local", "flights_delay")
    lh = Lakehouse(spark, Catalog(cfg.settings, cfg.pipeline), select_engine(spark, "delta-rs"))
    lh.overwrite("flights", spark.createDataFrame(ROWS, FLIGHTS))
    return cfg.pipeline, lh


def _quarantine(spark, lh, rows):
    """Overwrite flights_quarantine with ``rows`` (as the validate job writes them); its new version."""
    df = spark.createDataFrame(rows, FLIGHTS).select(
        "*", F.array(F.lit("rule")).alias("_dq_failed"), F.col("flight_date").alias("_dq_run_date"),
        F.lit(0).cast("long").alias("_dq_table_version"))
    return lh.overwrite("flights_quarantine", df).version


def _passing(spark, pipeline, lh, pinned=None):
    versions = {"flights": lh.version("flights")} | quarantine_versions(lh, pipeline, ["flights"], pinned)
    return read_passing(lh, pipeline, "flights", versions, where=f"flight_date = '{D1}'")


def test_quarantined_keys_are_left_out_of_the_dates_read(spark, setup):
    pipeline, lh = setup
    assert _passing(spark, pipeline, lh).count() == 4  # no quarantine yet: every row of D1
    _quarantine(spark, lh, [ROWS[1], ROWS[3], ROWS[4]])

    got = _passing(spark, pipeline, lh)

    expected = spark.createDataFrame([ROWS[0], ROWS[2]], FLIGHTS)
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_a_pinned_read_excludes_what_the_recorded_quarantine_held(spark, setup):
    pipeline, lh = setup
    first = _quarantine(spark, lh, [ROWS[1]])
    _quarantine(spark, lh, [ROWS[2]])
    flights_version = lh.version("flights")

    pinned_first = _passing(spark, pipeline, lh, pinned={"flights": flights_version, "flights_quarantine": first})
    none_recorded = _passing(spark, pipeline, lh, pinned={"flights": flights_version})
    latest = _passing(spark, pipeline, lh)

    keys = lambda df: sorted((r.carrier, r.flight, r.origin) for r in df.collect())  # noqa: E731
    assert keys(pinned_first) == [("AA", 1, "JFK"), ("AA", 2, "LGA"), ("B6", 3, "JFK")]
    assert keys(none_recorded) == [("AA", 1, "JFK"), ("AA", 2, "JFK"), ("AA", 2, "LGA"), ("B6", 3, "JFK")]
    assert keys(latest) == [("AA", 1, "JFK"), ("AA", 2, "JFK"), ("B6", 3, "JFK")]
