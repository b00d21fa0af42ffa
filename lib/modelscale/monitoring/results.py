"""Rows of the ``monitoring`` table: one per (run date, kind, feature, metric), with its threshold."""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple, dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import (BooleanType, DateType, DoubleType, LongType, StringType, StructField, StructType,
                               TimestampType)

from modelscale.local_frames import rows_frame

FEATURE_DRIFT, PREDICTION_DRIFT, PERFORMANCE = "feature_drift", "prediction_drift", "performance"

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
])


@dataclass(frozen=True)
class Measure:
    """One monitored value; ``threshold`` is a PSI maximum or a metric floor (see ``breached``)."""

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

    def describe(self) -> str:
        """``2013-01-09 feature_drift distance psi=0.31 (threshold 0.2)``."""
        what = self.feature or self.metric
        value = "n/a" if self.value is None else f"{self.value:.4f}"
        return f"{self.evaluated_date} {self.kind} {what} {self.metric}={value} (threshold {self.threshold})"


def to_frame(spark: SparkSession, measures: list[Measure]) -> DataFrame:
    """The measures as a DataFrame of the table's schema."""
    return rows_frame(spark, [astuple(m) for m in measures], SCHEMA)
