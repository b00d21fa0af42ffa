"""The model's metrics per segment (each value of a slice column), with its rows: the fairness audit of training's
test split and of each labelled batch monitoring evaluates (`modelscale.config.modeling.SlicesConfig`).

Everything is aggregated in Spark, one grouped aggregation per slice column, and only the ``max_segments`` largest
segments' numbers reach the driver. A classifier's rows are first counted per (segment, score) with their positives:
every metric of a segment follows from those counts, exactly, with no score bins. AUC-ROC is the rank statistic
(the share of the segment's (positive, negative) pairs the score orders right, ties counting half), from a running
count of the negatives below each score; AUC-PR is the trapezoid area under the precision-recall points at each
distinct score from recall 0 at the first point's precision, as Spark's BinaryClassificationEvaluator (numBins=0)
draws them. Both running sums are window functions over one row per distinct score of a segment, partitioned by
segment: no row is collected, and all segments share one job, where an evaluator per segment would be one Spark job
per segment and metric (and a score-binned AUC only approximate). A regressor's errors are summed per segment.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from modelscale.config.estimators import Task
from modelscale.config.metrics import METRICS
from modelscale.config.modeling import SlicesConfig
from modelscale.training.evaluation import SCORE, with_score

SEGMENT, ROWS = "segment", "rows"
LOG_EPSILON = 1e-15  # probabilities are floored here in log loss, as Spark's logLoss does


@dataclass(frozen=True)
class Segment:
    """One segment of a slice column: its rows, every metric of the task on them, and the audited ``metric`` against
    its ``overall`` value. ``bound`` is the worst value a segment may have; ``checked``: the segment has the rows to
    be held to it (``min_rows``). ``segment`` is the column's value as text (None: the rows where it is null)."""

    column: str
    segment: str | None
    rows: int
    metrics: dict[str, float | None]
    metric: str
    overall: float | None
    bound: float | None
    checked: bool
    flagged: bool

    @property
    def name(self) -> str:
        """``carrier=UA`` (``carrier=null`` for the rows without a value)."""
        return f"{self.column}={'null' if self.segment is None else self.segment}"

    @property
    def value(self) -> float | None:
        """The audited metric on this segment."""
        return self.metrics[self.metric]

    def describe(self) -> str:
        """``carrier=EV auc_roc=0.6012 over 512 rows (overall 0.7010, flagged beyond 0.6510)``."""
        return (f"{self.name} {self.metric}={_fmt(self.value)} over {self.rows:,} rows "
                f"(overall {_fmt(self.overall)}, flagged beyond {_fmt(self.bound)})")


def audit(predictions: DataFrame, cfg: SlicesConfig, task: Task, label: str, threshold: float,
          overall: dict[str, float]) -> list[Segment]:
    """The ``cfg.max_segments`` largest segments of each of ``cfg.columns`` in ``predictions`` (labelled rows with
    the model's prediction and probability), largest first, checked against the ``overall`` metrics of the same rows.
    Cache ``predictions`` first: each column scans it."""
    base = overall.get(cfg.metric)
    out = []
    for column in cfg.columns:
        largest = (segment_metrics(predictions, column, task, label, threshold)
                   .orderBy(F.desc(ROWS), F.asc_nulls_first(SEGMENT)).limit(cfg.max_segments).collect())
        for r in largest:
            metrics = {m: None if r[m] is None else float(r[m]) for m in METRICS[task]}
            rows = int(r[ROWS])
            out.append(Segment(column=column, segment=r[SEGMENT], rows=rows, metrics=metrics, metric=cfg.metric,
                               overall=base, bound=cfg.bound(base), checked=rows >= cfg.min_rows,
                               flagged=cfg.flagged(metrics[cfg.metric], base, rows)))
    return out


def segment_metrics(predictions: DataFrame, column: str, task: Task, label: str, threshold: float) -> DataFrame:
    """One row per value of ``column`` (as text, ``segment``): its ``rows`` and every metric of ``task``, as
    training's `evaluate` defines them (null where a segment cannot have it: an AUC without both classes, an r2
    of a constant label). Nothing is collected."""
    segment = F.col(column).cast("string").alias(SEGMENT)
    if task == "classification":
        return _classification(predictions, segment, label, threshold)
    return _regression(predictions, segment, label)


def _classification(predictions: DataFrame, segment: Column, label: str, threshold: float) -> DataFrame:
    scored = predictions if SCORE in predictions.columns else with_score(predictions)
    counts = (scored.groupBy(segment, F.col(SCORE).alias("s"))
              .agg(F.count("*").alias("n"), F.sum(F.col(label)).alias("pos"))
              .withColumn("neg", F.col("n") - F.col("pos")))
    ascending = Window.partitionBy(SEGMENT).orderBy("s")
    descending = Window.partitionBy(SEGMENT).orderBy(F.desc("s"))
    above = descending.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    points = (counts
              .withColumn("neg_below", F.coalesce(F.sum("neg").over(ascending.rowsBetween(Window.unboundedPreceding,
                                                                                          -1)), F.lit(0.0)))
              .withColumn("recall", _ratio(F.sum("pos").over(above), F.sum("pos").over(Window.partitionBy(SEGMENT))))
              .withColumn("precision", F.sum("pos").over(above) / F.sum("n").over(above)))
    points = points.withColumn("pr_area", (F.col("recall") - F.lag("recall", 1, 0.0).over(descending))
                               * (F.col("precision") + F.coalesce(F.lag("precision").over(descending),
                                                                  F.col("precision"))) / 2)
    hit = F.col("s") >= threshold
    true_class = F.col("pos") * -F.log(F.greatest(F.col("s"), F.lit(LOG_EPSILON))) \
        + F.col("neg") * -F.log(F.greatest(1 - F.col("s"), F.lit(LOG_EPSILON)))
    sums = points.groupBy(SEGMENT).agg(
        F.sum("n").alias(ROWS), F.sum("pos").alias("p"), F.sum("neg").alias("q"),
        F.sum(F.col("pos") * (F.col("neg_below") + F.col("neg") / 2)).alias("ordered_pairs"),
        F.sum("pr_area").alias("pr_area"), F.sum(true_class).alias("loss"),
        *(F.coalesce(F.sum(F.when(cond, F.col(c))), F.lit(0.0)).alias(name) for name, cond, c in (
            ("tp", hit, "pos"), ("fp", hit, "neg"), ("fn", ~hit, "pos"), ("tn", ~hit, "neg"))),
    )
    p, q, tp, fp = F.col("p"), F.col("q"), F.col("tp"), F.col("fp")
    precision, recall = _ratio(tp, tp + fp, 0.0), _ratio(tp, p, 0.0)
    return sums.select(
        SEGMENT, F.col(ROWS).cast("long").alias(ROWS),
        F.when((p > 0) & (q > 0), F.col("ordered_pairs") / (p * q)).alias("auc_roc"),
        F.when(p > 0, F.col("pr_area")).alias("auc_pr"),
        (F.col("loss") / F.col(ROWS)).alias("log_loss"),
        ((tp + F.col("tn")) / F.col(ROWS)).alias("accuracy"),
        precision.alias("precision"), recall.alias("recall"),
        _ratio(2 * precision * recall, precision + recall, 0.0).alias("f1"),
    )


def _regression(predictions: DataFrame, segment: Column, label: str) -> DataFrame:
    error = F.col("prediction") - F.col(label)
    sums = predictions.groupBy(segment).agg(
        F.count("*").alias(ROWS), F.avg(error * error).alias("mse"), F.avg(F.abs(error)).alias("mae"),
        F.var_pop(F.col(label)).alias("variance"))
    return sums.select(SEGMENT, F.col(ROWS).cast("long").alias(ROWS), F.sqrt("mse").alias("rmse"), "mae",
                       F.when(F.col("variance") > 0, 1 - F.col("mse") / F.col("variance")).alias("r2"))


def _ratio(numerator: Column, denominator: Column, when_empty: float | None = None) -> Column:
    """``numerator / denominator``, ``when_empty`` (null by default) where the denominator is 0."""
    return F.when(denominator > 0, numerator / denominator).otherwise(F.lit(when_empty))


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
