"""Fail early, naming the config key, when a configured column is not in a table."""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import DataFrame

from modelscale.config.features import FeaturesConfig
from modelscale.errors import ConfigError


def require_columns(df: DataFrame, columns: Iterable[str], *, table: str, key: str) -> None:
    """Raise `ConfigError` naming ``key`` and ``table`` when any of ``columns`` is missing."""
    have = set(df.columns)
    missing = [c for c in dict.fromkeys(columns) if c not in have]
    if missing:
        raise ConfigError(
            f"{key}: column(s) {', '.join(missing)} not in table {table!r} "
            f"(columns: {', '.join(sorted(have))})"
        )


def require_row_key(df: DataFrame, cfg: FeaturesConfig, *, table: str) -> None:
    """Raise `ConfigError` naming ``features.date``, ``features.timestamp`` or ``features.key`` when the table
    lacks one of the columns that identify a feature row (checked on the schema, before any Spark job)."""
    require_columns(df, [cfg.date], table=table, key="features.date")
    require_columns(df, [cfg.timestamp], table=table, key="features.timestamp")
    require_columns(df, cfg.key, table=table, key="features.key")
