"""Silver's derived columns (the demo's local times to UTC), Python hooks and the dedupe rule, on small DataFrames."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from pydantic import ValidationError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from modelscale.config import load_config
from modelscale.config.models import DedupeRule, SourceConfig
from modelscale.errors import ConfigError
from modelscale.ingest.silver import dedupe, derived

from .conftest import EVENTS

SOURCES = load_config("local", "flights_delay").pipeline.sources


def test_flights_departure_is_local_new_york_time_in_utc(spark: SparkSession) -> None:
    df = spark.createDataFrame([(2013, 1, 1, 515), (2013, 7, 1, 2359), (2013, 3, 10, 5), (2013, 3, 10, 230),
                                (2013, 11, 3, 130), (2013, 1, 1, 2460)],
                               "year int, month int, day int, sched_dep_time int")
    got = derived(df, "flights", SOURCES["flights"])
    expected = spark.createDataFrame(
        [(2013, 1, 1, 515, dt.date(2013, 1, 1), dt.datetime(2013, 1, 1, 10, 15)),   # EST = UTC-5
         (2013, 7, 1, 2359, dt.date(2013, 7, 1), dt.datetime(2013, 7, 2, 3, 59)),   # EDT = UTC-4
         (2013, 3, 10, 5, dt.date(2013, 3, 10), dt.datetime(2013, 3, 10, 5, 5)),    # 00:05, before the DST switch
         (2013, 3, 10, 230, dt.date(2013, 3, 10), dt.datetime(2013, 3, 10, 7, 30)),  # in the gap: as 03:30 EDT
         (2013, 11, 3, 130, dt.date(2013, 11, 3), dt.datetime(2013, 11, 3, 5, 30)),  # twice that night: the first
         (2013, 1, 1, 2460, dt.date(2013, 1, 1), None)],                             # no such minute
        "year int, month int, day int, sched_dep_time int, flight_date date, sched_dep_ts timestamp",
    )
    assert_df_equality(got, expected, ignore_nullable=True)


def test_weather_observation_time(spark: SparkSession) -> None:
    df = spark.createDataFrame([(2013, 1, 1, 1), (2013, 2, 30, 1)], "year int, month int, day int, hour int")
    got = derived(df, "weather", SOURCES["weather"])
    expected = spark.createDataFrame(
        [(2013, 1, 1, 1, dt.date(2013, 1, 1), dt.datetime(2013, 1, 1, 6, 0)),
         (2013, 2, 30, 1, None, None)],  # not a date: null, not a failed job
        "year int, month int, day int, hour int, obs_date date, obs_ts timestamp",
    )
    assert_df_equality(got, expected, ignore_nullable=True)


def test_dedupe_keeps_latest_by_rule(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [(1, "a", "f1"), (1, "b", "f2"), (2, "c", "f1"), (2, "c", "f1")],
        "id int, v string, _source_file string",
    )
    latest = dedupe(df, ["id"], DedupeRule(order_by=["_source_file"]))
    earliest = dedupe(df, ["id"], DedupeRule(order_by=["_source_file"], keep="earliest"))
    schema = "id int, v string, _source_file string"
    assert_df_equality(latest, spark.createDataFrame([(1, "b", "f2"), (2, "c", "f1")], schema),
                       ignore_row_order=True)
    assert_df_equality(earliest, spark.createDataFrame([(1, "a", "f1"), (2, "c", "f1")], schema),
                       ignore_row_order=True)


def test_dedupe_treats_missing_keys_as_equal_and_skips_unique_batches(spark: SparkSession) -> None:
    schema = "a string, b int, _source_file string"
    df = spark.createDataFrame(
        [(None, 1, "f1"), (None, 2, "f1"), (None, None, "f1"), (None, None, "f2"), ("x", 1, "f1")], schema)
    got = dedupe(df, ["a", "b"], DedupeRule(order_by=["_source_file"]))
    assert_df_equality(got, spark.createDataFrame(
        [(None, 1, "f1"), (None, 2, "f1"), (None, None, "f2"), ("x", 1, "f1")], schema), ignore_row_order=True)
    unique = df.where("b IS NOT NULL")
    assert dedupe(unique, ["a", "b"], None) is unique  # no repeat: no ranking added to the plan


def shout(df: DataFrame, source: SourceConfig) -> DataFrame:
    """A silver hook for the test below."""
    return df.withColumn("name", F.upper("name"))


def test_a_derive_that_does_not_resolve_names_its_key_and_a_hook_runs_after_derive(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, "a", 2.0)], "id int, name string, amount double")
    bad = EVENTS.model_copy(update={"derive": {"cents": "amout * 100"}})
    with pytest.raises(ConfigError, match=r"sources.events.derive.cents: 'amout \* 100' is not a valid expression "
                                          r"over table 'events': .*amout"):
        derived(df, "events", bad)
    hooked = EVENTS.model_copy(update={"derive": {"cents": "amount * 100"}, "silver_transform": f"{__name__}:shout"})
    assert derived(df, "events", hooked).collect() == [(1, "A", 2.0, 200.0)]


@pytest.mark.parametrize(("hook", "message"), [
    ("nope", "expected package.module:function"),
    ("no_such_module_here:fn", "cannot import 'no_such_module_here'"),
    ("modelscale.ingest.silver:nope", "module 'modelscale.ingest.silver' has no function 'nope'"),
])
def test_an_unknown_hook_is_refused_when_config_loads(hook: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SourceConfig.model_validate({**EVENTS.model_dump(), "silver_transform": hook})
