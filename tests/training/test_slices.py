"""Metrics per segment (`modelscale.training.slices`) on small hand-made frames: each segment's metrics are Spark's
evaluators' on that segment alone, counts are a groupBy's, and flags follow the gap in the metric's direction."""

from __future__ import annotations

import random

import pytest
from pyspark.ml.functions import array_to_vector
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from modelscale.config.metrics import METRICS
from modelscale.config.modeling import SlicesConfig
from modelscale.training.evaluation import evaluate, evaluator
from modelscale.training.slices import audit, segment_metrics


@pytest.fixture(scope="module")
def classified(spark: SparkSession) -> DataFrame:
    """Five segments (one null, one with a single class) of scored rows with ties; segment ``c``'s scores are
    reversed (worse than chance); the columns a Spark classifier leaves (probability, rawPrediction, prediction)."""
    rng = random.Random(7)
    rows = []
    for seg, n in (("a", 300), ("b", 120), ("c", 200), (None, 60), ("d", 40)):
        for _ in range(n):
            label = 0.0 if seg == "d" else float(rng.random() < 0.3)
            p = round(min(max(rng.gauss(0.35 + 0.3 * label, 0.15), 0.0), 1.0), 2)  # rounded: ties
            rows.append((seg, label, 1 - p if seg == "c" else p))
    df = spark.createDataFrame(rows, "seg string, label double, p double")
    vector = array_to_vector(F.array(1 - F.col("p"), F.col("p")))
    return (df.withColumn("probability", vector).withColumn("rawPrediction", vector)
            .withColumn("prediction", (F.col("p") >= 0.5).cast("double")).drop("p").cache())


def alone(df: DataFrame, seg: str | None) -> DataFrame:
    return df.where(F.col("seg").isNull() if seg is None else F.col("seg") == seg)


def test_each_segment_has_the_metrics_of_its_rows_alone(classified: DataFrame) -> None:
    df = classified
    got = {r["segment"]: r.asDict() for r in segment_metrics(df, "seg", "classification", "label", 0.5).collect()}
    counts = {r["seg"]: r["count"] for r in df.groupBy("seg").count().collect()}
    assert {s: r["rows"] for s, r in got.items()} == counts == {"a": 300, "b": 120, "c": 200, None: 60, "d": 40}
    expected = evaluate(alone(df, "c"), "classification", "label", 0.5)  # tied scores, both classes
    assert {m: got["c"][m] for m in METRICS["classification"]} == pytest.approx(expected, abs=1e-12)
    one_class = got["d"]
    assert one_class["auc_roc"] is None and one_class["auc_pr"] is None  # no positive: no ranking to judge
    negatives = alone(df, "d").where("prediction = 0").count()
    assert one_class["recall"] == one_class["precision"] == 0.0 and one_class["accuracy"] == negatives / 40


def test_regression_segments_and_flags_where_lower_is_better(spark: SparkSession) -> None:
    rng = random.Random(3)
    rows = [(city, y, y + rng.gauss(0, noise)) for city, noise, n in (("x", 5.0, 80), ("y", 5.0, 70), ("z", 40.0, 60))
            for y in (rng.uniform(100, 200) for _ in range(n))]
    rows.append(("w", 150.0, 151.0))  # one row: a label without variance has no r2
    df = spark.createDataFrame(rows, "city string, price double, prediction double").cache()
    got = {r["segment"]: r.asDict() for r in segment_metrics(df, "city", "regression", "price", 0.5).collect()}
    for city in ("x", "z"):
        expected = evaluate(df.where(F.col("city") == city), "regression", "price")
        assert {m: got[city][m] for m in METRICS["regression"]} == pytest.approx(expected, abs=1e-9), city
    assert got["w"]["r2"] is None and got["w"]["mae"] == pytest.approx(1.0)

    overall = evaluate(df, "regression", "price")
    cfg = SlicesConfig(columns=["city"], metric="rmse", max_gap=10.0, min_rows=50, max_segments=3)
    segments = audit(df, cfg, "regression", "price", 0.5, overall)
    assert [(s.segment, s.rows, s.checked, s.flagged) for s in segments] == [
        ("x", 80, True, False), ("y", 70, True, False), ("z", 60, True, True)]  # the 3 largest; z's error is 8x
    assert segments[2].bound == pytest.approx(overall["rmse"] + 10.0) and segments[2].value > segments[2].bound


def test_a_segment_worse_by_more_than_the_gap_is_flagged_only_with_enough_rows(classified: DataFrame) -> None:
    df = classified
    overall = {"auc_roc": evaluator("classification", "auc_roc", "label").evaluate(df)}
    cfg = SlicesConfig(columns=["seg"], metric="auc_roc", max_gap=0.05, min_rows=100)
    segments = {s.segment: s for s in audit(df, cfg, "classification", "label", 0.5, overall)}
    assert segments["c"].value < 0.5 < overall["auc_roc"] - 0.05 and segments["c"].flagged
    assert not segments["a"].flagged and segments["a"].value > segments["a"].bound
    assert segments[None].rows == 60 and not segments[None].checked and not segments[None].flagged
    assert segments["c"].describe().startswith("seg=c auc_roc=0.")
