"""Fail early, naming the config key, when a configured column is not in a table."""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import DataFrame

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
