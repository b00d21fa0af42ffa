"""The ``features:`` section: the gold feature table, declared in Spark SQL over a base table.

One row per base row of the run dates: its ``key`` columns, ``timestamp`` (the event time: nothing known
after it becomes a feature) and ``date`` (the run date it belongs to, the table's partition). Then, in order:
``outcomes`` (the targets, and ``available_at``, when they become known), ``windows`` (point-in-time
aggregates over the history of a group, counting only outcomes known before the row's timestamp),
``lookups`` (columns of other tables: an equi-join, or an as-of join with a maximum age) and ``columns``
(SQL expressions over all of the above). A Python ``hook`` (``package.module:function``, DataFrame in,
DataFrame out) may add what SQL cannot say.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from modelscale.config.base import StrictModel
from modelscale.hooks import HookPath

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_names(names: list[str] | dict[str, str]) -> None:
    bad = [n for n in names if not _NAME.match(n)]
    if bad:
        raise ValueError(f"not a column name: {', '.join(map(repr, bad))} (letters, digits and _)")


class OutcomesConfig(StrictModel):
    """The targets (name -> SQL over the base table) and when they become known (a timestamp expression).

    A null outcome (e.g. a cancelled flight's arrival delay) keeps the row for scoring; training skips it.
    """

    columns: dict[str, str]
    available_at: str

    @field_validator("columns")
    @classmethod
    def _named(cls, columns: dict[str, str]) -> dict[str, str]:
        if not columns:
            raise ValueError("at least one outcome column is required")
        _check_names(columns)
        return columns


class WindowConfig(StrictModel):
    """``agg`` of ``value`` over the rows of the same ``by`` group whose outcomes became known within the
    ``days`` before this row's timestamp; one column per length, ``<name>_<days>d`` (null: no such row).

    ``by`` names base-table columns, ``value`` is SQL over the base table and the outcomes.
    """

    name: str
    by: list[str] = Field(min_length=1)
    value: str
    agg: Literal["avg", "sum", "count"] = "avg"
    days: list[int] = Field(min_length=1)

    @model_validator(mode="after")
    def _valid(self) -> WindowConfig:
        _check_names([self.name, *self.by])
        if any(d < 1 for d in self.days) or len(set(self.days)) != len(self.days):
            raise ValueError(f"days: expected distinct whole days >= 1, got {self.days}")
        return self

    def column(self, days: int) -> str:
        """The output column of the ``days`` window."""
        return f"{self.name}_{days}d"


class LookupConfig(StrictModel):
    """Columns (output name -> SQL over ``table``) of the ``table`` row matching each feature row on ``by``.

    Without ``timestamp`` the table holds one row per ``by`` (a snapshot: planes, airports). With it, the
    row is the latest with ``timestamp <= `` the feature row's timestamp and at most ``max_age_hours`` old
    (weather as of departure); ``date_column`` lets the read keep only the days that can qualify.
    """

    table: str
    by: list[str] = Field(min_length=1)
    columns: dict[str, str] = Field(min_length=1)
    timestamp: str | None = None
    max_age_hours: int | None = Field(None, ge=1, le=24 * 366)
    date_column: str | None = None

    @model_validator(mode="after")
    def _as_of_needs_an_age(self) -> LookupConfig:
        _check_names([*self.by, *self.columns])
        if (self.timestamp is None) != (self.max_age_hours is None):
            raise ValueError("an as-of lookup sets both timestamp and max_age_hours (a snapshot lookup neither)")
        if self.date_column is not None and self.timestamp is None:
            raise ValueError("date_column applies to as-of lookups (set timestamp and max_age_hours)")
        return self


class FeaturesConfig(StrictModel):
    """The gold feature table (see the module docstring for the order columns are computed in)."""

    table: str = "features"
    base: str
    key: list[str] = Field(min_length=1)
    timestamp: str
    date: str
    outcomes: OutcomesConfig
    windows: list[WindowConfig] = Field(default_factory=list)
    lookups: list[LookupConfig] = Field(default_factory=list)
    columns: dict[str, str] = Field(default_factory=dict)
    hook: HookPath | None = None

    @model_validator(mode="after")
    def _names_unique(self) -> FeaturesConfig:
        _check_names([*self.key, self.timestamp, self.date, *self.columns])
        produced = self.produced
        repeated = sorted({c for c in produced if produced.count(c) > 1})
        if repeated:
            raise ValueError(f"column(s) {', '.join(repeated)} produced more than once (key, outcomes, windows, "
                             "lookups and columns each name their own)")
        return self

    @property
    def row_key(self) -> list[str]:
        """What identifies a feature row: date, key and timestamp (predictions carry it too)."""
        return list(dict.fromkeys([self.date, *self.key, self.timestamp]))

    @property
    def produced(self) -> list[str]:
        """Every column of the feature table, in order."""
        return [*self.row_key, *self.outcomes.columns, *(w.column(d) for w in self.windows for d in w.days),
                *(c for lookup in self.lookups for c in lookup.columns), *self.columns]

    @property
    def tables(self) -> list[str]:
        """The tables the feature table is built from: the base, then each lookup's."""
        return list(dict.fromkeys([self.base, *(lookup.table for lookup in self.lookups)]))
