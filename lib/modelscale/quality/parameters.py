"""Values for GX suite parameters (``{$PARAMETER: name}``) at validation time."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from modelscale.errors import ConfigError

if TYPE_CHECKING:
    from modelscale.delta import Lakehouse

MAX_DISTINCT = 10_000
DISTINCT = "distinct:"


class Parameters:
    """``run_date`` (date), ``run_start``/``run_end`` (midnight of the run date / the next day), and
    ``distinct:<table>.<column>`` (sorted distinct values of a table's column, at most 10,000)."""

    def __init__(self, lakehouse: Lakehouse, run_date: dt.date) -> None:
        self._lakehouse = lakehouse
        start = dt.datetime.combine(run_date, dt.time())
        self._values: dict[str, Any] = {"run_date": run_date, "run_start": start,
                                        "run_end": start + dt.timedelta(days=1)}

    def __call__(self, name: str) -> Any:
        if name not in self._values:
            if not name.startswith(DISTINCT):
                raise ConfigError(f"unknown suite parameter {name!r}; expected run_date, run_start, run_end "
                                  f"or {DISTINCT}<table>.<column>")
            self._values[name] = self._distinct(name.removeprefix(DISTINCT))
        return self._values[name]

    def _distinct(self, ref: str) -> list[Any]:
        table, _, column = ref.partition(".")
        if not column:
            raise ConfigError(f"suite parameter {DISTINCT}{ref}: expected {DISTINCT}<table>.<column>")
        df = self._lakehouse.read(table)
        if column not in df.columns:
            raise ConfigError(f"suite parameter {DISTINCT}{ref}: table {table} has no column {column!r} "
                              f"(columns: {', '.join(df.columns)})")
        rows = df.select(column).where(df[column].isNotNull()).distinct().limit(MAX_DISTINCT + 1).collect()
        if len(rows) > MAX_DISTINCT:
            raise ConfigError(f"suite parameter {DISTINCT}{ref}: more than {MAX_DISTINCT:,} distinct values; "
                              "a value set that large belongs in a join, not an expectation")
        return sorted(r[0] for r in rows)
