"""Spark SQL text for identifiers and Python values, and string literals for Delta predicates.

Rules built as SQL text reach the JVM as one string per expression; built as Column objects, every
function, literal and operator is a driver-to-JVM round trip (a validation suite: ~2,700 of them).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any


def ident(name: str) -> str:
    """``name`` as a quoted Spark SQL identifier."""
    return "`" + name.replace("`", "``") + "`"


def literal(value: Any) -> str:
    """``value`` as a Spark SQL literal of the type ``F.lit(value)`` would give it."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return f"{value!r}D"
        return f"CAST('{'NaN' if math.isnan(value) else ('Infinity' if value > 0 else '-Infinity')}' AS DOUBLE)"
    if isinstance(value, Decimal):
        return f"{value}BD"
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP{string(value.isoformat(sep=' '))}"
    if isinstance(value, dt.date):
        return f"DATE{string(value.isoformat())}"
    if isinstance(value, str):
        return string(value)
    raise TypeError(f"no SQL literal for {value!r} ({type(value).__name__})")


def one_of(expr: str, values: list[Any]) -> str:
    """``expr IN (values)`` (no values: never)."""
    return f"{expr} IN ({', '.join(map(literal, values))})" if values else "FALSE"


def string(value: str) -> str:
    """``value`` as a Spark SQL string literal (backslashes are escapes there).

    For Spark alone: a predicate that delta-rs also parses for file pruning (DataFusion's dialect, where a
    backslash is a plain character) quotes its strings with `predicate_string`.
    """
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def predicate_string(value: str) -> str:
    """``value`` as a string literal that Spark and delta-rs (DataFusion) read alike: quotes doubled, no
    backslash escapes; for table predicates that prune files and filter rows (``where``, ``replace_where``)."""
    return "'" + value.replace("'", "''") + "'"
