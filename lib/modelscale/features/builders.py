"""The demo feature set: silver flights + planes + as-of weather -> one row per flight."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from modelscale.config.modeling import FeaturesConfig
from modelscale.features.point_in_time import asof_join

# Identify a flight (the silver primary key, with the date/time as the UTC departure timestamp).
KEY_COLUMNS = ["flight_date", "carrier", "flight", "origin", "sched_dep_ts"]
WEATHER_PREFIX = "wx_"


def flight_features(flights: DataFrame, delay_threshold_minutes: float) -> DataFrame:
    """Keys, schedule-derived features and the targets of each flight.

    Only what is known before the scheduled departure becomes a feature (the schedule, route,
    aircraft); ``arr_delay`` and ``label`` are the targets. Cancelled or diverted flights
    (``arr_delay`` null) keep a null label: scoring still covers them, training skips them.
    """
    return flights.select(
        *KEY_COLUMNS,
        "dest",
        "tailnum",
        F.floor(F.col("sched_dep_time") / 100).cast("int").alias("dep_hour"),
        F.dayofweek("flight_date").alias("dep_weekday"),
        F.month("flight_date").alias("dep_month"),
        F.col("distance").cast("double").alias("distance"),
        F.col("arr_delay").cast("double").alias("arr_delay"),
        F.when(F.col("arr_delay").isNull(), F.lit(None).cast("double"))
        .otherwise((F.col("arr_delay") > delay_threshold_minutes).cast("double"))
        .alias("label"),
    )


def plane_features(planes: DataFrame) -> DataFrame:
    """Per tail number: build year, seats, engines (age is computed against the flight's year)."""
    return planes.select(
        "tailnum",
        F.col("year").alias("plane_year"),
        F.col("seats").cast("double").alias("plane_seats"),
        F.col("engines").cast("double").alias("plane_engines"),
    )


def build_features(flights: DataFrame, weather: DataFrame, planes: DataFrame, cfg: FeaturesConfig) -> DataFrame:
    """One row per flight: keys, features, targets; weather as of the scheduled departure."""
    base = flight_features(flights, cfg.delay_threshold_minutes)
    with_planes = (
        base.join(plane_features(planes), "tailnum", "left")
        .withColumn("plane_age", (F.year("flight_date") - F.col("plane_year")).cast("double"))
        .drop("plane_year")
    )
    wx_columns = {c: f"{WEATHER_PREFIX}{c}" for c in cfg.weather_columns}
    with_weather = asof_join(
        with_planes,
        weather,
        key=["carrier", "flight", "origin", "sched_dep_ts"],
        by=["origin"],
        left_ts="sched_dep_ts",
        right_ts="obs_ts",
        max_age_hours=cfg.weather_max_age_hours,
        columns={**wx_columns, "obs_ts": "wx_obs_ts"},
    )
    return with_weather.withColumn(
        "wx_age_minutes", ((F.unix_timestamp("sched_dep_ts") - F.unix_timestamp("wx_obs_ts")) / 60).cast("double")
    )
