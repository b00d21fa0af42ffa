"""Drift on real January days with the shipped flights_delay monitoring config (its thresholds, windows and
exclusions, measured on 2013: see conf/pipelines/flights_delay.yaml).

The model is trained as the demo's first model is, on Jan 14 (its 28-day window from Jan 1: train Jan 1-7, validation
Jan 8-10, test Jan 11-14; no search), its reference profile built as training builds it, and Jan 17, the demo's last
day, is compared as the monitor job compares it: each column on the run date's rows or over the 7 run dates
ending at it (`batches.current_counts`), the features from the feature table and the prediction from the scored
rows. No column breaches on that day; a column broken in the feature table breaches, and no other: distance in km on
the run date, humidity as a fraction over the window (a one-day break of a windowed column is a seventh of its rows,
and a warm day is weather: neither is what these thresholds catch).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from features.nycflights import demo_features
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from modelscale.cadence import first_of_last
from modelscale.config import load_config
from modelscale.config.models import PipelineConfig
from modelscale.monitoring.batches import current_counts
from modelscale.monitoring.measures import Stamp, drift_measures
from modelscale.monitoring.reference import ReferenceProfile, build_reference
from modelscale.monitoring.results import Measure
from modelscale.training.evaluation import SCORE, with_score
from modelscale.training.trainer import train_model

START, TRAINED, DAY = dt.date(2013, 1, 1), dt.date(2013, 1, 14), dt.date(2013, 1, 17)
DATE = "flight_date"


@dataclass(frozen=True)
class January:
    pipeline: PipelineConfig
    reference: ReferenceProfile
    features: DataFrame
    predictions: DataFrame


@pytest.fixture(scope="module")
def january(spark: SparkSession) -> Iterator[January]:
    """Jan 1-17's features, the model trained on Jan 14 and its reference, and its predictions of Jan 11-17."""
    pipeline = load_config("local", "flights_delay").pipeline
    assert pipeline is not None
    training = pipeline.training
    pipeline = pipeline.model_copy(update={"training": training.model_copy(update={
        "search": training.search.model_copy(update={"method": "none"})})})
    features = demo_features(spark, START, DAY).persist()
    outcome = train_model(features, pipeline, TRAINED)
    reference = build_reference(outcome.splits.train, outcome.test_predictions, pipeline.model, pipeline.monitoring)
    outcome.release()
    served = features.where(F.col(DATE) >= F.lit(first_of_last(DAY, pipeline.monitoring.window_run_dates, "daily")))
    predictions = with_score(outcome.model.transform(served)).select(DATE, F.col(SCORE).alias("probability"))
    yield January(pipeline, reference, features, predictions.persist())
    features.unpersist()
    predictions.unpersist()


def drift(data: January, broken: Callable[[DataFrame], DataFrame] = lambda df: df) -> dict[str, Measure]:
    """Jan 17's drift measures, of the feature table as ``broken`` leaves it."""
    features = broken(data.features)
    cfg = data.pipeline.monitoring
    current = current_counts(data.reference, cfg, DAY, cadence="daily", date_column=DATE,
                             features=lambda where: features.where(where),
                             predictions=lambda where: data.predictions.where(where))
    stamp = Stamp(DAY, "test", dt.datetime(2013, 1, 18))
    return {m.feature: m for m in drift_measures(stamp, data.reference, current, cfg, ("flights_delay", "1"))}


def on(days: Column, column: str, value: Column) -> Callable[[DataFrame], DataFrame]:
    """The feature table with ``column`` replaced by ``value`` on the rows of ``days``."""
    return lambda df: df.withColumn(column, F.when(days, value).otherwise(F.col(column)))


def test_a_normal_january_day_breaches_nothing(january: January) -> None:
    measures = drift(january)
    cfg, model = january.pipeline.monitoring, january.pipeline.model
    assert set(measures) == {*model.numeric, *model.categorical, "prediction"} - {"dep_month"}  # excluded
    assert [m.describe() for m in measures.values() if m.breached] == []
    rows = january.features.groupBy(F.col(DATE) == F.lit(DAY)).count().collect()
    day = next(r["count"] for r in rows if r[0])
    window = january.features.where(F.col(DATE) >= F.lit(first_of_last(DAY, cfg.window_run_dates, "daily"))).count()
    assert {n: m.rows for n, m in measures.items()} == {n: window if n in cfg.windowed else day for n in measures}
    assert measures["dep_weekday"].value < 0.1  # a week of weekdays against three weeks of them


def test_distance_in_km_on_the_run_date_breaches_distance_alone(january: January) -> None:
    measures = drift(january, on(F.col(DATE) == F.lit(DAY), "distance", F.col("distance") * 1.609344))
    assert [n for n, m in measures.items() if m.breached] == ["distance"]
    assert measures["distance"].value > 5 * measures["distance"].threshold


def test_humidity_as_a_fraction_over_the_window_breaches_wx_humid_alone(january: January) -> None:
    first = first_of_last(DAY, january.pipeline.monitoring.window_run_dates, "daily")
    measures = drift(january, on(F.col(DATE).between(F.lit(first), F.lit(DAY)), "wx_humid", F.col("wx_humid") / 100))
    assert [n for n, m in measures.items() if m.breached] == ["wx_humid"]
    assert measures["wx_humid"].value > 1.5 * measures["wx_humid"].threshold
