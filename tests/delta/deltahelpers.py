"""Rows and assertions shared by the Delta tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

SCHEMA = "id long, part string, amount double, price decimal(10,2), day date, ts timestamp, ok boolean"


def rows(spark: SparkSession, data: list[tuple], schema: str = SCHEMA) -> DataFrame:
    return spark.createDataFrame(data, schema)


def sample(spark: SparkSession, ids: range | list[int], part: str = "a") -> DataFrame:
    """Rows of every type; one partition, so one append writes one file per partition value."""
    data = [(i, part, i * 1.5, Decimal(f"{i}.25"), dt.date(2024, 1, 1) + dt.timedelta(days=i),
             dt.datetime(2024, 1, 1, 12, 0, 0, 123456) + dt.timedelta(hours=i), i % 2 == 0) for i in ids]
    return rows(spark, data).coalesce(1)


def same(actual: DataFrame, expected: DataFrame) -> None:
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def parquet_files(location: str) -> list[str]:
    return sorted(str(p.relative_to(location)) for p in Path(location).rglob("*.parquet")
                  if "_delta_log" not in p.parts)
