"""As-of joins: attach to each row the latest observation known at that row's timestamp."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

_BUCKET = "_asof_hour"


def _epoch_hour(column: str) -> F.Column:
    return F.floor(F.unix_timestamp(F.col(column)) / 3600)


def asof_join(
    left: DataFrame,
    right: DataFrame,
    *,
    key: list[str],
    by: list[str],
    left_ts: str,
    right_ts: str,
    max_age_hours: int,
    columns: dict[str, str],
) -> DataFrame:
    """Left join the latest ``right`` row per ``by`` with ``right_ts <= left_ts`` and at most
    ``max_age_hours`` old; ``columns`` maps right column -> output name (null when none qualifies).
    ``key`` identifies a left row (unique, and includes ``left_ts``).

    Both sides are bucketed by hour so the join is an equi-join on ``by`` + hour bucket (no range
    join over a whole key): each left row probes the ``max_age_hours + 1`` buckets that can hold a
    qualifying observation.
    """
    probes = left.select(
        *dict.fromkeys([*key, *by, left_ts]),
        F.explode(F.sequence(_epoch_hour(left_ts) - max_age_hours, _epoch_hour(left_ts))).alias(_BUCKET),
    )
    obs = right.select(*dict.fromkeys([*by, right_ts, *columns]), _epoch_hour(right_ts).alias(_BUCKET))
    max_age_s = max_age_hours * 3600
    candidates = (
        probes.join(obs, [*by, _BUCKET])
        .where(
            (F.col(right_ts) <= F.col(left_ts))
            & (F.unix_timestamp(right_ts) >= F.unix_timestamp(left_ts) - max_age_s)
        )
    )
    latest = (
        candidates.withColumn(
            "_asof_rank", F.row_number().over(Window.partitionBy(*key).orderBy(F.col(right_ts).desc()))
        )
        .where("_asof_rank = 1")
        .select(*key, *(F.col(src).alias(dst) for src, dst in columns.items()))
    )
    return left.join(latest, key, "left")
