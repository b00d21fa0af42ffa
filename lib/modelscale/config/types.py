"""Spark SQL type names accepted in config, checked without starting Spark."""

from __future__ import annotations

import re

_SIMPLE = {
    "string", "boolean", "byte", "tinyint", "short", "smallint", "int", "integer", "long",
    "bigint", "float", "double", "date", "timestamp", "timestamp_ntz", "binary",
}
_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")


def check_type_name(name: str) -> str:
    """Return the normalised type name or raise ValueError saying what is accepted."""
    t = name.strip().lower()
    if t in _SIMPLE:
        return t
    m = _DECIMAL.match(t)
    if m and 1 <= int(m.group(1)) <= 38 and int(m.group(2)) <= int(m.group(1)):
        return f"decimal({m.group(1)},{m.group(2)})"
    raise ValueError(
        f"unknown column type {name!r}; expected one of {', '.join(sorted(_SIMPLE))} or decimal(p,s)"
    )
