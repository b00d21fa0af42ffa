"""Distribution profiles: the bins of each feature and the row count of each bin, computed in Spark.

A numeric feature's bins are cut at its training quantiles (``bins`` of them, fewer when quantiles
coincide): bin i holds ``edges[i-1] < x <= edges[i]``, the first bin everything up to ``edges[0]``, the
last everything above ``edges[-1]``. A categorical feature's bins are its ``max_categories`` most
frequent training values, then one "other" bin for every other (or unseen) value. Both end with a
null bin. Only bin counts reach the driver.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

Kind = Literal["numeric", "categorical"]
QUANTILE_ERROR = 1e-3


@dataclass(frozen=True)
class Bins:
    """How one column is binned: cut points (numeric) or the reference values (categorical)."""

    kind: Kind
    edges: list[float]
    values: list[str]

    @property
    def labels(self) -> list[str]:
        """One readable label per bin, in bin order (the null bin last)."""
        if self.kind == "categorical":
            return [*self.values, "other", "null"]
        bounds = ["-inf", *(f"{e:g}" for e in self.edges), "inf"]
        return [*(f"({lo}, {hi}]" for lo, hi in zip(bounds, bounds[1:])), "null"]

    def bucket(self, column: str) -> Column:
        """The bin index of each row's value of ``column``."""
        col = F.col(column)
        expr = F.when(col.isNull(), len(self.labels) - 1)
        if self.kind == "categorical":
            for i, value in enumerate(self.values):
                expr = expr.when(col.cast("string") == value, i)
            return expr.otherwise(len(self.values))
        for i, edge in enumerate(self.edges):
            expr = expr.when(col <= edge, i)
        return expr.otherwise(len(self.edges))


@dataclass(frozen=True)
class ColumnProfile:
    """The bins of a column and how many rows fell into each."""

    bins: Bins
    counts: list[int]

    @property
    def rows(self) -> int:
        return sum(self.counts)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        return cls(bins=Bins(**data["bins"]), counts=[int(c) for c in data["counts"]])


def fit_bins(df: DataFrame, numeric: list[str], categorical: list[str], *, bins: int,
             max_categories: int) -> dict[str, Bins]:
    """Bins from ``df``: quantile cut points of the numeric columns (one pass), top values of the categorical."""
    fitted: dict[str, Bins] = {}
    if numeric:
        probs = [i / bins for i in range(1, bins)]
        quantiles = df.approxQuantile(numeric, probs, QUANTILE_ERROR)
        for name, cuts in zip(numeric, quantiles, strict=True):
            fitted[name] = Bins("numeric", sorted({float(c) for c in cuts}), [])
    for name in categorical:
        top = (df.where(F.col(name).isNotNull()).groupBy(F.col(name).cast("string").alias("v")).count()
               .orderBy(F.desc("count"), "v").limit(max_categories).collect())
        fitted[name] = Bins("categorical", [], [r["v"] for r in top])
    return fitted


def bin_counts(df: DataFrame, bins: dict[str, Bins]) -> dict[str, ColumnProfile]:
    """Each column's row count per bin, in one aggregation over ``df``."""
    if not bins:
        return {}
    bucketed = df.select(*(b.bucket(name).alias(name) for name, b in bins.items()))
    aggs = [F.count(F.when(F.col(name) == i, 1)).alias(f"{name}#{i}")
            for name, b in bins.items() for i in range(len(b.labels))]
    row = bucketed.agg(*aggs).first()
    assert row is not None
    return {name: ColumnProfile(b, [int(row[f"{name}#{i}"]) for i in range(len(b.labels))])
            for name, b in bins.items()}


def profile(df: DataFrame, numeric: list[str], categorical: list[str], *, bins: int,
            max_categories: int) -> dict[str, ColumnProfile]:
    """Fit bins on ``df`` and count its rows into them."""
    return bin_counts(df, fit_bins(df, numeric, categorical, bins=bins, max_categories=max_categories))
