"""Point-in-time aggregates over a group's history: what was known about the group before each row's time.

A row at time ``t`` aggregates the values of the rows of its group whose outcome became known in the
``days`` before ``t`` (``available_at`` in ``[t - days, t)``): a label known only after a flight arrived
never reaches the features of a flight that left before that. One range window per group: the rows to
compute (probes) and the history rows (contributions, timed by when their outcome became known) are sorted
together by time, so each probe sees exactly the contributions in its frame; probes carry no value.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from modelscale.config.features import WindowConfig

_TIME, _VALUE, _PROBE = "_hist_time", "_hist_value", "_hist_probe"
AGGREGATES: dict[str, Callable[[Column], Column]] = {"avg": F.avg, "sum": F.sum, "count": F.count}


def with_history(probes: DataFrame, history: DataFrame, window: WindowConfig, value: Column, *, key: list[str],
                 timestamp: str, available_at: str) -> DataFrame:
    """``probes`` (unique by ``key``) with one column per length of ``window``, aggregating ``value`` over the
    ``history`` rows of the same group whose ``available_at`` falls in the window's days before ``timestamp``."""
    asked = probes.select(*dict.fromkeys([*window.by, *key]), F.unix_timestamp(timestamp).alias(_TIME),
                          F.lit(None).cast("double").alias(_VALUE), F.lit(True).alias(_PROBE))
    known = history.where(F.col(available_at).isNotNull()).select(
        *window.by, F.unix_timestamp(available_at).alias(_TIME), value.cast("double").alias(_VALUE),
        F.lit(False).alias(_PROBE))
    by_time = Window.partitionBy(*window.by).orderBy(_TIME)
    aggregate = AGGREGATES[window.agg]
    frames = {window.column(d): aggregate(F.col(_VALUE)).over(by_time.rangeBetween(-d * 86_400, -1))
              for d in window.days}
    answered = (asked.unionByName(known, allowMissingColumns=True).withColumns(frames)
                .where(F.col(_PROBE)).select(*key, *frames))
    return probes.join(answered, key, "left")
