"""Partition values: Delta's string form and Spark-compatible hive directory names.

Directory names escape the same characters as Spark's ``ExternalCatalogUtils.escapePathName``
(plus ``}``, so no path is ever a glob), so Spark's own partition discovery reads them back.
The Delta log keeps the plain values; readers take values from the log, never from paths.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
_ESCAPE = {chr(c) for c in range(0x20)} | set('"#%\'*/:=?\\\x7f{}[]^')


def to_delta(value: Any) -> str | None:
    """A Python partition value in the Delta log's string form (empty strings are null, as in Spark)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return str(value)


def escape(value: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in _ESCAPE else c for c in value)


def hive_dir(partition_by: list[str], values: dict[str, str | None]) -> str:
    """``a=1/b=x%2Fy`` for the given Delta partition values (null -> Spark's default partition name)."""
    return "/".join(
        f"{escape(col)}={HIVE_NULL if values.get(col) is None else escape(values[col])}"  # type: ignore[arg-type]
        for col in partition_by
    )
