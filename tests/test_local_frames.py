"""Driver-held rows to a DataFrame through Arrow: same rows and exact schema as from tuples."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (BooleanType, DateType, DoubleType, LongType, StringType, StructField, StructType,
                               TimestampType)

from modelscale.local_frames import rows_frame

SCHEMA = StructType([
    StructField("name", StringType(), False),
    StructField("n", LongType(), True),
    StructField("share", DoubleType(), True),
    StructField("ok", BooleanType(), False),
    StructField("day", DateType(), False),
    StructField("at", TimestampType(), False),
])


def test_rows_frame_matches_create_data_frame(spark: SparkSession) -> None:
    at = dt.datetime(2013, 1, 5, 17, 30, 0, 123456, tzinfo=dt.UTC)
    rows = [("a", 3, 0.25, True, dt.date(2013, 1, 5), at),
            ("b", None, 1, False, dt.date(2013, 1, 6), at.astimezone(dt.timezone(dt.timedelta(hours=-5))))]
    got = rows_frame(spark, rows, SCHEMA)
    assert got.schema == SCHEMA  # nullability included
    expected = spark.createDataFrame([(*r[:2], float(r[2]), *r[3:]) for r in rows], SCHEMA)
    assert_df_equality(got, expected)
    micros = int(at.timestamp()) * 1_000_000 + at.microsecond
    assert [r[0] for r in got.select(F.unix_micros("at")).collect()] == [micros, micros]  # the same instant


def test_no_rows_is_an_empty_frame_with_the_schema(spark: SparkSession) -> None:
    got = rows_frame(spark, [], SCHEMA)
    assert got.schema == SCHEMA and got.count() == 0
