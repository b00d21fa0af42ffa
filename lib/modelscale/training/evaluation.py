"""Metrics, confusion counts and curve points, all computed in Spark (only small results reach the driver)."""

from __future__ import annotations

from pyspark.ml.evaluation import (
    BinaryClassificationEvaluator,
    Evaluator,
    MulticlassClassificationEvaluator,
    RegressionEvaluator,
)
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from modelscale.config.estimators import Task
from modelscale.config.metrics import LOWER_IS_BETTER, METRICS, unknown_metric
from modelscale.errors import ConfigError

SCORE = "score"  # probability of the positive class

# metric -> (evaluator class, Spark metric name); metrics at the threshold are computed from counts.
_EVALUATED: dict[str, tuple[type[Evaluator], str]] = {
    "auc_roc": (BinaryClassificationEvaluator, "areaUnderROC"),
    "auc_pr": (BinaryClassificationEvaluator, "areaUnderPR"),
    "log_loss": (MulticlassClassificationEvaluator, "logLoss"),
    "rmse": (RegressionEvaluator, "rmse"),
    "mae": (RegressionEvaluator, "mae"),
    "r2": (RegressionEvaluator, "r2"),
}


def check_metric(task: Task, metric: str, key: str) -> str:
    """``metric`` when the task computes it; else a config error naming ``key``."""
    problem = unknown_metric(task, metric)
    if problem:
        raise ConfigError(f"{key}: {problem}")
    return metric


def evaluator(task: Task, metric: str, label: str) -> Evaluator:
    """The Spark evaluator of ``metric`` (used by the search and by `evaluate`)."""
    cls, name = _EVALUATED[metric]
    if cls is RegressionEvaluator:
        return RegressionEvaluator(metricName=name, labelCol=label, predictionCol="prediction")
    if cls is BinaryClassificationEvaluator:
        return BinaryClassificationEvaluator(metricName=name, labelCol=label, rawPredictionCol="rawPrediction",
                                             numBins=0)  # exact: no score down-sampling, reproducible
    return MulticlassClassificationEvaluator(metricName=name, labelCol=label, probabilityCol="probability")


def with_score(predictions: DataFrame) -> DataFrame:
    """Add ``score``: the positive-class probability as a double."""
    return predictions.withColumn(SCORE, vector_to_array("probability")[1])


def evaluate(predictions: DataFrame, task: Task, label: str, threshold: float = 0.5) -> dict[str, float]:
    """Every metric of ``task`` on ``predictions`` (cache it first: each evaluator scans it)."""
    metrics = {m: float(evaluator(task, m, label).evaluate(predictions)) for m in METRICS[task] if m in _EVALUATED}
    if task == "classification":
        c = confusion(predictions, label, threshold)
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        metrics.update(
            accuracy=(c["tp"] + c["tn"]) / max(sum(c.values()), 1),
            precision=precision,
            recall=recall,
            f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        )
    return metrics


def _scored(predictions: DataFrame) -> DataFrame:
    """``predictions`` with `SCORE` (added unless there)."""
    return with_score(predictions) if SCORE not in predictions.columns else predictions


def _score_bin(bins: int) -> Column:
    """The equal-width bin ``0..bins-1`` of the score (a score of 1 in the last)."""
    return F.least(F.floor(F.col(SCORE) * bins), F.lit(bins - 1)).cast("int")


def confusion(predictions: DataFrame, label: str, threshold: float) -> dict[str, int]:
    """tp/fp/fn/tn when predicting positive at ``score >= threshold`` (one aggregation)."""
    scored = _scored(predictions)
    pos, hit = F.col(label) == 1.0, F.col(SCORE) >= threshold
    row = scored.agg(
        F.count(F.when(pos & hit, 1)).alias("tp"), F.count(F.when(~pos & hit, 1)).alias("fp"),
        F.count(F.when(pos & ~hit, 1)).alias("fn"), F.count(F.when(~pos & ~hit, 1)).alias("tn"),
    ).first()
    return {k: int(row[k]) for k in ("tp", "fp", "fn", "tn")}


def curve_points(predictions: DataFrame, label: str, bins: int = 100) -> list[dict[str, float]]:
    """ROC and PR points at ``bins`` score thresholds (at most ``bins + 1`` rows reach the driver).

    Each point is {threshold, tpr, fpr, precision}: predicting positive at score >= threshold.
    """
    counts = (
        _scored(predictions).groupBy(_score_bin(bins).alias("b"))
        .agg(F.sum(F.col(label)).alias("pos"), F.sum(1 - F.col(label)).alias("neg"))
        .collect()
    )
    by_bucket = {r["b"]: (float(r["pos"]), float(r["neg"])) for r in counts}
    total_pos = sum(p for p, _ in by_bucket.values()) or 1.0
    total_neg = sum(n for _, n in by_bucket.values()) or 1.0
    points, tp, fp = [], 0.0, 0.0
    for b in range(bins - 1, -1, -1):
        p, n = by_bucket.get(b, (0.0, 0.0))
        tp, fp = tp + p, fp + n
        points.append({"threshold": b / bins, "tpr": tp / total_pos, "fpr": fp / total_neg,
                       "precision": tp / (tp + fp) if tp + fp else 1.0})
    return [{"threshold": 1.0, "tpr": 0.0, "fpr": 0.0, "precision": 1.0}, *points]


def calibration_bins(predictions: DataFrame, label: str, bins: int = 10) -> list[dict[str, float]]:
    """Per non-empty equal-width score bin, in order: its rows, mean score and share of positives (at most ``bins``
    rows reach the driver). A calibrated model's positive share matches its mean score."""
    rows = (
        _scored(predictions).groupBy(_score_bin(bins).alias("b"))
        .agg(F.count("*").alias("rows"), F.avg(SCORE).alias("score"), F.avg(F.col(label)).alias("positive_rate"))
        .orderBy("b").collect()
    )
    return [{"rows": int(r["rows"]), "score": float(r["score"]), "positive_rate": float(r["positive_rate"])}
            for r in rows]


def improvement(metric: str, candidate: float, reference: float) -> float:
    """How much better ``candidate`` is than ``reference`` (positive = better, in ``metric``'s direction)."""
    return reference - candidate if metric in LOWER_IS_BETTER else candidate - reference
