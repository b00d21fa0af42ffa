"""Time-based splits of the training window, and class weights for imbalanced labels."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from modelscale.config.modeling import SplitConfig


@dataclass(frozen=True)
class Window:
    """Inclusive date ranges of the three splits (train < validation < test, no overlap)."""

    train: tuple[dt.date, dt.date]
    validation: tuple[dt.date, dt.date]
    test: tuple[dt.date, dt.date]

    @property
    def start(self) -> dt.date:
        return self.train[0]

    @property
    def end(self) -> dt.date:
        return self.test[1]


@dataclass(frozen=True)
class Splits:
    train: DataFrame
    validation: DataFrame
    test: DataFrame


def window(end: dt.date, cfg: SplitConfig) -> Window:
    """The window of ``cfg.window_days`` ending at ``end``: test last, validation before, train first."""
    day = dt.timedelta(days=1)
    test_start = end - (cfg.test_days - 1) * day
    val_start = test_start - cfg.validation_days * day
    start = end - (cfg.window_days - 1) * day
    return Window(train=(start, val_start - day), validation=(val_start, test_start - day), test=(test_start, end))


def between(start: dt.date, end: dt.date, date_column: str) -> str:
    """The SQL predicate for rows dated ``start``..``end`` (prunes the date-partitioned feature table)."""
    return f"{date_column} BETWEEN '{start}' AND '{end}'"


def split_by_date(df: DataFrame, w: Window, date_column: str) -> Splits:
    """Rows of ``df`` in each split's date range."""

    def between(rng: tuple[dt.date, dt.date]) -> DataFrame:
        return df.where(F.col(date_column).between(F.lit(rng[0]), F.lit(rng[1])))

    return Splits(train=between(w.train), validation=between(w.validation), test=between(w.test))


def with_class_weights(df: DataFrame, label: str, weight_column: str) -> DataFrame:
    """Add ``weight_column`` so both classes carry the same total weight (n / (2 * n_class))."""
    counts = df.agg(F.count("*").alias("n"), F.sum(F.col(label)).alias("pos")).first()
    n, pos = counts["n"], counts["pos"] or 0.0
    w_pos = n / (2.0 * pos) if pos else 1.0
    w_neg = n / (2.0 * (n - pos)) if n > pos else 1.0
    return df.withColumn(weight_column, F.when(F.col(label) == 1.0, w_pos).otherwise(w_neg))
