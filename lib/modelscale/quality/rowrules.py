"""Row-level expectations as Spark predicates, built from the expectation's own definition.

A `RowRule` says, for every row, whether it is in the expectation's domain (the rows GX counts:
non-null values of the column, rows matching ``row_condition``) and whether it breaks the rule.
These predicates flag every failing row for the quarantine; ``mostly`` only decides pass/fail.
Expectations not listed here are evaluated by GX itself and do not split rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from great_expectations.expectations.row_conditions import PassThroughCondition
from pyspark.sql import Column
from pyspark.sql import functions as F

from modelscale.quality.suites import Check


@dataclass(frozen=True)
class Duplicates:
    """Rows whose ``keys`` occur more than once (among the rows matching ``condition``, a SQL predicate).

    The validation computes the duplicated keys with a keys-only ``groupBy`` and joins them back;
    `column` is the boolean column (null when not duplicated) that join adds and ``fails`` reads.
    """

    keys: tuple[str, ...]
    condition: str | None = None

    @property
    def column(self) -> str:
        digest = hashlib.sha1(repr((self.keys, self.condition)).encode()).hexdigest()[:12]
        return f"_dq_dup_{digest}"


@dataclass(frozen=True)
class RowRule:
    """Per-row predicates of one expectation (both never null); ``duplicates`` when ``fails`` needs that join."""

    check: Check
    domain: Column
    fails: Column
    duplicates: Duplicates | None = None

    @property
    def mostly(self) -> float:
        return float(self.check.arg("mostly", 1.0))


def row_rule(check: Check) -> RowRule | None:
    """The predicates of ``check``, or None when it is not a row-level expectation we can split on."""
    build = _BUILDERS.get(check.type)
    condition = _condition(check)
    if build is None or condition is None:
        return None
    domain, violation = build(check)
    domain = domain & condition
    return RowRule(check=check, domain=F.coalesce(domain, F.lit(False)),
                   fails=F.coalesce(domain & violation, F.lit(False)), duplicates=duplicates_of(check))


def duplicates_of(check: Check) -> Duplicates | None:
    """The key set a uniqueness row rule tests (as `row_rule(check).duplicates`, without building the rule)."""
    keys = _UNIQUE_KEYS.get(check.type)
    if keys is None or not _translatable(check):
        return None
    return Duplicates(tuple(keys(check)), _condition_sql(check))


def _condition(check: Check) -> Column | None:
    """The row_condition as a Column (all rows when none); None for condition kinds we do not translate."""
    if not _translatable(check):
        return None
    sql = _condition_sql(check)
    return F.lit(True) if sql is None else F.expr(sql)


def _translatable(check: Check) -> bool:
    cond = check.arg("row_condition")
    return cond is None or isinstance(cond, (PassThroughCondition, str))


def _condition_sql(check: Check) -> str | None:
    cond = check.arg("row_condition")
    return cond.pass_through_filter if isinstance(cond, PassThroughCondition) else cond


Builder = Callable[[Check], tuple[Column, Column]]


def _column_map(violation: Callable[[Column, Check], Column]) -> Builder:
    """A single-column map expectation: domain is the non-null values, as in GX."""
    def build(check: Check) -> tuple[Column, Column]:
        col = F.col(check.arg("column"))
        return col.isNotNull(), violation(col, check)
    return build


def _between(value: Column, check: Check) -> Column:
    lo, hi = check.arg("min_value"), check.arg("max_value")
    ok = F.lit(True)
    if lo is not None:
        ok = ok & ((value > F.lit(lo)) if check.arg("strict_min", False) else (value >= F.lit(lo)))
    if hi is not None:
        ok = ok & ((value < F.lit(hi)) if check.arg("strict_max", False) else (value <= F.lit(hi)))
    return ~ok


def _any_rlike(col: Column, patterns: list[str]) -> Column:
    out = F.lit(False)
    for p in patterns:
        out = out | col.rlike(p)
    return out


def _all_rlike(col: Column, patterns: list[str]) -> Column:
    out = F.lit(True)
    for p in patterns:
        out = out & col.rlike(p)
    return out


def _regex_list(col: Column, check: Check) -> Column:
    patterns = list(check.arg("regex_list"))
    matched = _all_rlike(col, patterns) if check.arg("match_on", "any") == "all" else _any_rlike(col, patterns)
    return ~matched


def _duplicated(check: Check) -> Column:
    """True where the row's keys are duplicated: the column the duplicate-keys join adds."""
    dup = duplicates_of(check)
    assert dup is not None  # a builder that calls this runs only for a uniqueness check with a translatable condition
    return F.col(dup.column).isNotNull()


def _not_null(check: Check) -> tuple[Column, Column]:
    return F.lit(True), F.col(check.arg("column")).isNull()


def _null(check: Check) -> tuple[Column, Column]:
    return F.lit(True), F.col(check.arg("column")).isNotNull()


def _compound_unique(check: Check) -> tuple[Column, Column]:
    cols = list(check.arg("column_list"))
    all_missing = F.lit(True)
    for c in cols:
        all_missing = all_missing & F.col(c).isNull()
    return ~all_missing, _duplicated(check)


def _pair(violation: Callable[[Column, Column, Check], Column]) -> Builder:
    """A column-pair expectation: rows where both values are missing are ignored (GX's default)."""
    def build(check: Check) -> tuple[Column, Column]:
        a, b = F.col(check.arg("column_A")), F.col(check.arg("column_B"))
        return a.isNotNull() | b.isNotNull(), F.coalesce(violation(a, b, check), F.lit(True))
    return build


_BUILDERS: dict[str, Builder] = {
    "expect_column_values_to_not_be_null": _not_null,
    "expect_column_values_to_be_null": _null,
    "expect_column_values_to_be_in_set": _column_map(lambda c, k: ~c.isin(list(k.arg("value_set")))),
    "expect_column_values_to_not_be_in_set": _column_map(lambda c, k: c.isin(list(k.arg("value_set")))),
    "expect_column_values_to_be_between": _column_map(_between),
    "expect_column_value_lengths_to_be_between": _column_map(lambda c, k: _between(F.length(c), k)),
    "expect_column_value_lengths_to_equal": _column_map(lambda c, k: F.length(c) != F.lit(k.arg("value"))),
    "expect_column_values_to_match_regex": _column_map(lambda c, k: ~c.rlike(k.arg("regex"))),
    "expect_column_values_to_not_match_regex": _column_map(lambda c, k: c.rlike(k.arg("regex"))),
    "expect_column_values_to_match_regex_list": _column_map(_regex_list),
    "expect_column_values_to_not_match_regex_list": _column_map(lambda c, k: _any_rlike(c, list(k.arg("regex_list")))),
    "expect_column_values_to_match_like_pattern": _column_map(lambda c, k: ~c.like(k.arg("like_pattern"))),
    "expect_column_values_to_not_match_like_pattern": _column_map(lambda c, k: c.like(k.arg("like_pattern"))),
    "expect_column_values_to_be_unique": _column_map(lambda c, k: _duplicated(k)),
    "expect_compound_columns_to_be_unique": _compound_unique,
    "expect_column_pair_values_a_to_be_greater_than_b": _pair(
        lambda a, b, k: ~((a >= b) if k.arg("or_equal", False) else (a > b))),
    "expect_column_pair_values_to_be_equal": _pair(lambda a, b, k: a != b),
}

_UNIQUE_KEYS: dict[str, Callable[[Check], list[str]]] = {
    "expect_column_values_to_be_unique": lambda k: [k.arg("column")],
    "expect_compound_columns_to_be_unique": lambda k: list(k.arg("column_list")),
}
