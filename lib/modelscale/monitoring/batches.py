"""The current side of drift: the bin counts of each monitored column over the run dates it is compared on.

A column is compared on the rows of its run date, or, when ``monitoring.windowed`` lists it, on those of the last
``monitoring.window_run_dates`` run dates ending at it (days of a daily pipeline, months of a monthly one): features
from the feature table, the prediction from the predictions table. Each window is read by a date-range predicate and
counted in one aggregation; only bin counts reach the driver.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pyspark.sql import DataFrame

from modelscale.cadence import Cadence, first_of_last
from modelscale.config.monitoring import PREDICTION, MonitoringConfig
from modelscale.monitoring.profile import Bins, ColumnProfile, bin_counts
from modelscale.monitoring.reference import ReferenceProfile
from modelscale.training.splits import between

Reader = Callable[[str], DataFrame]
"""The rows of a table matching a SQL predicate on its date column."""


def monitored(ref: ReferenceProfile, cfg: MonitoringConfig) -> dict[str, Bins]:
    """The reference bins of every monitored column: each feature, then the prediction, less ``exclude``."""
    return {name: ref.column(name).bins for name in [*ref.features, PREDICTION] if name not in cfg.exclude}


def current_counts(ref: ReferenceProfile, cfg: MonitoringConfig, run_date: dt.date, *, cadence: Cadence,
                   date_column: str, features: Reader, predictions: Reader) -> dict[str, ColumnProfile]:
    """Each monitored column's counts in the reference bins, over its run dates ending at ``run_date``."""
    bins = monitored(ref, cfg)
    counts: dict[str, ColumnProfile] = {}
    for window in sorted({cfg.window(name) for name in bins}):
        where = between(first_of_last(run_date, window, cadence), run_date, date_column)
        names = [name for name in bins if cfg.window(name) == window]
        counts |= bin_counts(features(where), {n: bins[n] for n in names if n != PREDICTION})
        if PREDICTION in names:
            scored = bin_counts(predictions(where), {ref.prediction_column: bins[PREDICTION]})
            counts[PREDICTION] = scored[ref.prediction_column]
    return counts

