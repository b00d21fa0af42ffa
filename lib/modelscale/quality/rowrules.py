"""Row-level expectations as Spark SQL predicates, built from the expectation's own definition.

A `RowRule` says, for every row, whether it is in the expectation's domain (the rows GX counts:
non-null values of the column, rows matching ``row_condition``) and whether it breaks the rule.
These predicates flag every failing row for the quarantine; ``mostly`` only decides pass/fail.
They are SQL text, so a suite reaches Spark as a few strings (`sql_text`).
Expectations not listed here are evaluated by GX itself and do not split rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from great_expectations.expectations.row_conditions import PassThroughCondition

from modelscale.quality.suites import Check
from modelscale.sql_text import ident, literal, one_of


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
    """Per-row SQL predicates of one expectation (both never null); ``duplicates`` when ``fails`` needs that join."""

    check: Check
    domain: str
    fails: str
    duplicates: Duplicates | None = None

    @property
    def mostly(self) -> float:
        return float(self.check.arg("mostly", 1.0))


def row_rule(check: Check) -> RowRule | None:
    """The predicates of ``check``, or None when it is not a row-level expectation we can split on."""
    build = _BUILDERS.get(check.type)
    if build is None or not _translatable(check):
        return None
    domain, violation = build(check)
    condition = _condition_sql(check)
    if condition is not None:
        domain = f"({domain}) AND ({condition})"
    return RowRule(check=check, domain=f"coalesce({domain}, FALSE)",
                   fails=f"coalesce(({domain}) AND ({violation}), FALSE)", duplicates=duplicates_of(check))


def duplicates_of(check: Check) -> Duplicates | None:
    """The key set a uniqueness row rule tests (as `row_rule(check).duplicates`, without building the rule)."""
    keys = _UNIQUE_KEYS.get(check.type)
    if keys is None or not _translatable(check):
        return None
    return Duplicates(tuple(keys(check)), _condition_sql(check))


def _translatable(check: Check) -> bool:
    cond = check.arg("row_condition")
    return cond is None or isinstance(cond, (PassThroughCondition, str))


def _condition_sql(check: Check) -> str | None:
    cond = check.arg("row_condition")
    return cond.pass_through_filter if isinstance(cond, PassThroughCondition) else cond


Builder = Callable[[Check], tuple[str, str]]


def _column_map(violation: Callable[[str, Check], str]) -> Builder:
    """A single-column map expectation: domain is the non-null values, as in GX."""
    def build(check: Check) -> tuple[str, str]:
        col = ident(check.arg("column"))
        return f"{col} IS NOT NULL", violation(col, check)
    return build


def _between(value: str, check: Check) -> str:
    lo, hi = check.arg("min_value"), check.arg("max_value")
    ok = ["TRUE"]
    if lo is not None:
        ok.append(f"{value} {'>' if check.arg('strict_min', False) else '>='} {literal(lo)}")
    if hi is not None:
        ok.append(f"{value} {'<' if check.arg('strict_max', False) else '<='} {literal(hi)}")
    return f"NOT ({' AND '.join(ok)})"


def _rlikes(col: str, patterns: list[str], join: str) -> str:
    """``col`` matches the patterns, joined by AND or OR (no pattern: AND holds, OR does not)."""
    if not patterns:
        return "TRUE" if join == "AND" else "FALSE"
    return f" {join} ".join(f"{col} RLIKE {literal(p)}" for p in patterns)


def _regex_list(col: str, check: Check) -> str:
    join = "AND" if check.arg("match_on", "any") == "all" else "OR"
    return f"NOT ({_rlikes(col, list(check.arg('regex_list')), join)})"


def _duplicated(check: Check) -> str:
    """True where the row's keys are duplicated: the column the duplicate-keys join adds."""
    dup = duplicates_of(check)
    assert dup is not None  # a builder that calls this runs only for a uniqueness check with a translatable condition
    return f"{ident(dup.column)} IS NOT NULL"


def _not_null(check: Check) -> tuple[str, str]:
    return "TRUE", f"{ident(check.arg('column'))} IS NULL"


def _null(check: Check) -> tuple[str, str]:
    return "TRUE", f"{ident(check.arg('column'))} IS NOT NULL"


def _compound_unique(check: Check) -> tuple[str, str]:
    all_missing = " AND ".join(f"{ident(c)} IS NULL" for c in check.arg("column_list"))
    return f"NOT ({all_missing or 'TRUE'})", _duplicated(check)


def _pair(violation: Callable[[str, str, Check], str]) -> Builder:
    """A column-pair expectation: rows where both values are missing are ignored (GX's default)."""
    def build(check: Check) -> tuple[str, str]:
        a, b = ident(check.arg("column_A")), ident(check.arg("column_B"))
        return f"{a} IS NOT NULL OR {b} IS NOT NULL", f"coalesce({violation(a, b, check)}, TRUE)"
    return build


_BUILDERS: dict[str, Builder] = {
    "expect_column_values_to_not_be_null": _not_null,
    "expect_column_values_to_be_null": _null,
    "expect_column_values_to_be_in_set": _column_map(lambda c, k: f"NOT ({one_of(c, list(k.arg('value_set')))})"),
    "expect_column_values_to_not_be_in_set": _column_map(lambda c, k: one_of(c, list(k.arg("value_set")))),
    "expect_column_values_to_be_between": _column_map(_between),
    "expect_column_value_lengths_to_be_between": _column_map(lambda c, k: _between(f"length({c})", k)),
    "expect_column_value_lengths_to_equal": _column_map(lambda c, k: f"length({c}) != {literal(k.arg('value'))}"),
    "expect_column_values_to_match_regex": _column_map(lambda c, k: f"NOT ({c} RLIKE {literal(k.arg('regex'))})"),
    "expect_column_values_to_not_match_regex": _column_map(lambda c, k: f"{c} RLIKE {literal(k.arg('regex'))}"),
    "expect_column_values_to_match_regex_list": _column_map(_regex_list),
    "expect_column_values_to_not_match_regex_list": _column_map(
        lambda c, k: _rlikes(c, list(k.arg("regex_list")), "OR")),
    "expect_column_values_to_match_like_pattern": _column_map(
        lambda c, k: f"NOT ({c} LIKE {literal(k.arg('like_pattern'))})"),
    "expect_column_values_to_not_match_like_pattern": _column_map(
        lambda c, k: f"{c} LIKE {literal(k.arg('like_pattern'))}"),
    "expect_column_values_to_be_unique": _column_map(lambda c, k: _duplicated(k)),
    "expect_compound_columns_to_be_unique": _compound_unique,
    "expect_column_pair_values_a_to_be_greater_than_b": _pair(
        lambda a, b, k: f"NOT ({a} {'>=' if k.arg('or_equal', False) else '>'} {b})"),
    "expect_column_pair_values_to_be_equal": _pair(lambda a, b, k: f"{a} != {b}"),
}

_UNIQUE_KEYS: dict[str, Callable[[Check], list[str]]] = {
    "expect_column_values_to_be_unique": lambda k: [k.arg("column")],
    "expect_compound_columns_to_be_unique": lambda k: list(k.arg("column_list")),
}
