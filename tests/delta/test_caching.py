"""Caching where the compute allows it: with ``modelscale.cache=false`` (and so on serverless, which refuses
persist) every cached step recomputes instead, with the same results and nothing persisted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from modelscale.caching import CONF, cached
from modelscale.config.validation import ExpectationSpec
from modelscale.quality.suites import build_check
from modelscale.quality.validate import validation

ROWS = [(1, "a", 1.0), (2, "a", 2.0), (2, "a", 3.0), (3, "b", None)]  # key 2 repeats
UNIQUE = ExpectationSpec(type="expect_column_values_to_be_unique", kwargs={"column": "id"})


def persisted_rdds(spark: SparkSession) -> set[int]:
    return set(spark.sparkContext._jsc.getPersistentRDDs().keySet())


@pytest.fixture
def no_cache(spark: SparkSession) -> Iterator[None]:
    spark.conf.set(CONF, "false")
    try:
        yield
    finally:
        spark.conf.unset(CONF)


def test_cached_persists_for_the_block_and_releases(spark):
    df = spark.createDataFrame(ROWS, "id int, k string, v double")
    with cached(df) as frame:
        assert frame.is_cached
    assert not df.is_cached


def test_cache_off_recomputes(spark, no_cache):
    df = spark.createDataFrame(ROWS, "id int, k string, v double")
    with cached(df) as frame:
        assert frame is df and not frame.is_cached


@pytest.mark.parametrize("cache", [True, False])
def test_repeated_key_validation_and_merge_with_and_without_cache(spark, rs_lake, cache):
    if not cache:
        spark.conf.set(CONF, "false")
    before = persisted_rdds(spark)
    try:
        df = spark.createDataFrame(ROWS, "id int, k string, v double")
        with validation(df, "t", [build_check(UNIQUE, {}.__getitem__)]) as v:
            assert (v.outcomes[0].unexpected_count, v.failing_rows) == (2, 2)
            assert sorted(r.v for r in v.failing().collect()) == [2.0, 3.0]
            assert (persisted_rdds(spark) != before) == cache  # the duplicated keys, cached when allowed
        lake = rs_lake(t={"partition_by": ["k"]})
        lake.append("t", v.passing())
        result = lake.merge("t", spark.createDataFrame([(1, "a", 10.0), (4, "b", 4.0)], "id int, k string, v double"),
                            ["id"])
        assert result.metrics["rows_updated"] == 1 and result.metrics["rows_inserted"] == 1
        assert_df_equality(lake.read("t"), spark.createDataFrame([(1, "a", 10.0), (3, "b", None), (4, "b", 4.0)],
                                                                 "id int, k string, v double"),
                           ignore_row_order=True, ignore_nullable=True)
        assert persisted_rdds(spark) == before
    finally:
        spark.conf.unset(CONF)
