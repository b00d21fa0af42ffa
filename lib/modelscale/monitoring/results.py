"""Rows of the ``monitoring`` table: one per (run date, kind, feature, metric[, segment]), with its threshold."""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple, dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import (BooleanType, DateType, DoubleType, LongType, StringType, StructField, StructType,
                               TimestampType)

from modelscale.local_frames import rows_frame

FEATURE_DRIFT, PREDICTION_DRIFT, PERFORMANCE = "feature_drift", "prediction_drift", "performance"
SLICE = "slice"  # a segment's metric: flagged (breached) is reported, never an alert (`Measure.alerts`)

SCHEMA = StructType([
    StructField("run_date", DateType(), False),
    StructField("kind", StringType(), False),
    StructField("feature", StringType(), True),
    StructField("metric", StringType(), False),
    StructField("value", DoubleType(), True),
    StructField("threshold", DoubleType(), True),
    StructField("breached", BooleanType(), False),
    StructField("evaluated_date", DateType(), False),
    StructField("rows", LongType(), False),
    StructField("model_name", StringType(), True),
    StructField("model_version", StringType(), True),
    StructField("job_run_id", StringType(), False),
    StructField("computed_at", TimestampType(), False),
    StructField("segment", StringType(), True),
])


@dataclass(frozen=True)
class Measure:
    """One monitored value; ``threshold`` is a PSI maximum, a metric floor or a segment's bound (see ``breached``).

    A `SLICE` row is one segment of a slice column (``feature``: the column, ``segment``: its value as text, None
    for its nulls; ``rows``: the segment's rows); ``breached`` there is the segment flagged, and a segment too small
    to be checked has no threshold.
    """

    run_date: dt.date
    kind: str
    feature: str | None
    metric: str
    value: float | None
    threshold: float | None
    breached: bool
    evaluated_date: dt.date
    rows: int
    model_name: str | None
    model_version: str | None
    job_run_id: str
    computed_at: dt.datetime
    segment: str | None = None

    @property
    def alerts(self) -> bool:
        """A breach that fails or alerts the job and asks for a retraining: any but a flagged segment's, which a
        retraining on the same rows would not mend (it is reported: the log, the report, the metrics)."""
        return self.breached and self.kind != SLICE

    @property
    def flagged(self) -> bool:
        """A segment worse than the overall metric by more than the configured gap."""
        return self.breached and self.kind == SLICE

    @property
    def name(self) -> str:
        """What the row measures: the feature, ``carrier=UA`` for a segment, else the metric."""
        if self.kind == SLICE:
            return f"{self.feature}={'null' if self.segment is None else self.segment}"
        return self.feature or self.metric

    def describe(self) -> str:
        """``2013-01-09 feature_drift distance psi=0.31 (threshold 0.2)``."""
        what = self.name
        value = "n/a" if self.value is None else f"{self.value:.4f}"
        return f"{self.evaluated_date} {self.kind} {what} {self.metric}={value} (threshold {self.threshold})"


def to_frame(spark: SparkSession, measures: list[Measure]) -> DataFrame:
    """The measures as a DataFrame of the table's schema."""
    return rows_frame(spark, [astuple(m) for m in measures], SCHEMA)
