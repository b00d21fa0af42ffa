"""Model performance once the outcomes have landed: past predictions joined to the actual labels.

The metrics are training's (`modelscale.training.evaluation.evaluate`), overall and per segment of the slice columns
(`modelscale.training.slices`), on the stored prediction and probability, rebuilt into the columns Spark's
evaluators read.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.ml.functions import array_to_vector
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from modelscale.caching import cached
from modelscale.config.estimators import Task
from modelscale.config.modeling import SlicesConfig
from modelscale.training.evaluation import SCORE, evaluate
from modelscale.training.slices import Segment, audit


def with_outcomes(predictions: DataFrame, features: DataFrame, label: str, key: list[str],
                  columns: Sequence[str] = ()) -> DataFrame:
    """Predictions whose actual outcome (``label`` in the feature table) is known, joined by the row ``key``, with the
    feature table's ``columns`` the predictions lack (the slice columns)."""
    extra = [c for c in dict.fromkeys(columns) if c not in predictions.columns]
    actual = features.where(F.col(label).isNotNull()).select(*key, F.col(label).cast("double").alias(label), *extra)
    return predictions.join(actual, key)


def evaluator_columns(labelled: DataFrame, task: Task) -> DataFrame:
    """The columns `evaluate` reads: for a classifier, rawPrediction/score (the probability) and a
    [1 - p, p] probability vector."""
    if task != "classification":
        return labelled
    p = F.col("probability")
    return (labelled.withColumn(SCORE, p).withColumn("rawPrediction", p)
            .withColumn("probability", array_to_vector(F.array(1 - p, p))))


def performance(labelled: DataFrame, task: Task, label: str, threshold: float,
                slices: SlicesConfig | None = None) -> tuple[int, dict[str, float], list[Segment]]:
    """Row count, training's metrics on ``labelled`` and its segments' (`modelscale.training.slices.audit`); no
    metrics when no row is labelled."""
    with cached(evaluator_columns(labelled, task)) as prepared:
        rows = prepared.count()
        if not rows:
            return 0, {}, []
        metrics = evaluate(prepared, task, label, threshold)
        segments = audit(prepared, slices, task, label, threshold, metrics) if slices else []
        return rows, metrics, segments
