"""count_key_repeats: exact repeat counts across buckets, null keys, a row condition."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from modelscale.key_repeats import BUCKETS, KeySet, buckets, count_key_repeats


def test_every_repeat_is_counted_however_the_hashes_fall_into_buckets(spark: SparkSession) -> None:
    rows = BUCKETS * 50
    unique = spark.range(rows).select(F.col("id").alias("a"), (F.col("id") % 7).alias("b"))
    assert count_key_repeats(unique, KeySet(("a", "b"))) == 0
    assert count_key_repeats(unique, KeySet(("b",))) == rows - 7
    # 99 keys twice and one three times: each extra copy is a repeat
    repeated = unique.unionByName(unique.where("a < 100")).unionByName(unique.where("a = 5"))
    assert count_key_repeats(repeated, KeySet(("a", "b"))) == 101


def test_null_keys_repeat_like_values_and_the_condition_picks_the_rows(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [(1, "x", True), (1, "x", False), (None, "y", True), (None, "y", True), (2, None, True), (3, None, True)],
        "a int, b string, live boolean")
    assert count_key_repeats(df, KeySet(("a", "b"))) == 2  # (1, x) and (null, y)
    assert count_key_repeats(df, KeySet(("a", "b"), "live")) == 1  # (1, x) counts once among the live
    assert count_key_repeats(df, KeySet(("a",), "a > 1")) == 0
    assert count_key_repeats(df.where("false"), KeySet(("a",))) == 0  # no rows: no repeats


def test_a_cluster_sized_session_spreads_the_hashes_over_its_shuffle_partitions(spark: SparkSession) -> None:
    previous = spark.conf.get("spark.sql.shuffle.partitions")
    try:
        spark.conf.set("spark.sql.shuffle.partitions", "300")
        assert buckets(spark) == 300
        df = spark.range(3000).select((F.col("id") % 2900).alias("a"))
        assert count_key_repeats(df, KeySet(("a",))) == 100  # ids 2900..2999 repeat 0..99
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", previous)
    assert buckets(spark) == BUCKETS  # the test session's few partitions
