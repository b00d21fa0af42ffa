"""Table-level expectations as shared aggregates, evaluated in the same single pass as row rules.

A `TableRule` contributes named aggregate expressions (SQL text, as the row rules' predicates) to one
aggregate and turns the values back into (success, observed value). Schema rules (column set, count,
existence) need no data.
Expectations not listed here are evaluated by GX itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyspark.sql.types import StructType

from modelscale.quality.suites import Check
from modelscale.sql_text import ident, literal, one_of

Observe = Callable[[dict[str, Any], StructType], tuple[bool, Any]]


@dataclass(frozen=True)
class TableRule:
    """Aggregates one expectation needs (SQL text by name), and how to judge their values."""

    check: Check
    metrics: dict[str, str]
    observe: Observe


def table_rule(check: Check) -> TableRule | None:
    """The aggregate form of ``check``, or None when it is not one we compute ourselves."""
    if check.arg("row_condition") is not None:
        return None
    build = _BUILDERS.get(check.type)
    return build(check) if build else None


def in_range(value: Any, check: Check) -> bool:
    """``min_value <= value <= max_value`` with GX's strict_min/strict_max; a missing value fails."""
    if value is None:
        return False
    lo, hi = (_like(value, check.arg(k)) for k in ("min_value", "max_value"))
    if lo is not None and (value <= lo if check.arg("strict_min", False) else value < lo):
        return False
    return not (hi is not None and (value >= hi if check.arg("strict_max", False) else value > hi))


def _like(value: Any, bound: Any) -> Any:
    """``bound`` comparable with ``value``: a date bound becomes midnight when the value is a datetime."""
    if isinstance(value, dt.datetime) and isinstance(bound, dt.date) and not isinstance(bound, dt.datetime):
        return dt.datetime.combine(bound, dt.time())
    if isinstance(bound, dt.datetime) and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return bound.date()
    return bound


def _scalar(agg: str) -> Callable[[Check], TableRule]:
    """``expect_column_<stat>_to_be_between``: one aggregate of the column (``agg`` with ``{}`` for it),
    compared to the range."""
    def build(check: Check) -> TableRule:
        value = agg.format(ident(check.arg("column")))
        return TableRule(check, {"v": value}, lambda m, _: (in_range(m["v"], check), m["v"]))
    return build


def _row_count(check: Check) -> TableRule:
    return TableRule(check, {"n": "count(1)"}, lambda m, _: (in_range(m["n"], check), m["n"]))


def _row_count_equal(check: Check) -> TableRule:
    return TableRule(check, {"n": "count(1)"}, lambda m, _: (m["n"] == check.arg("value"), m["n"]))


def _quantiles(check: Check) -> TableRule:
    ranges = check.arg("quantile_ranges")
    qs, bounds = list(ranges["quantiles"]), list(ranges["value_ranges"])
    expr = f"percentile_approx({ident(check.arg('column'))}, array({', '.join(literal(float(q)) for q in qs)}), 10000)"

    def observe(m: dict[str, Any], _: StructType) -> tuple[bool, Any]:
        values = list(m["q"] or [None] * len(qs))
        ok = all(v is not None and (lo is None or v >= lo) and (hi is None or v <= hi)
                 for v, (lo, hi) in zip(values, bounds, strict=True))
        return ok, {"quantiles": qs, "values": values}
    return TableRule(check, {"q": expr}, observe)


def _outside(col: str, values: list) -> str:
    """``col`` where it is not null and not one of ``values``, else null."""
    return f"CASE WHEN {col} IS NOT NULL AND NOT ({one_of(col, values)}) THEN {col} END"


def _distinct_in_set(check: Check) -> TableRule:
    outside = _outside(ident(check.arg("column")), list(check.arg("value_set") or []))
    metrics = {"outside": f"count(DISTINCT {outside})", "example": f"min({outside})"}
    return TableRule(check, metrics, lambda m, _: (m["outside"] == 0, _outside_text(m)))


def _distinct_contain_set(check: Check, *, exact: bool) -> TableRule:
    col, values = ident(check.arg("column")), list(check.arg("value_set") or [])
    metrics = {f"has{i}": f"max(CAST({col} = {literal(v)} AS INT))" for i, v in enumerate(values)}
    if exact:
        outside = _outside(col, values)
        metrics |= {"outside": f"count(DISTINCT {outside})", "example": f"min({outside})"}

    def observe(m: dict[str, Any], _: StructType) -> tuple[bool, Any]:
        missing = [v for i, v in enumerate(values) if not m[f"has{i}"]]
        extra = m.get("outside", 0)
        text = ", ".join(filter(None, [f"missing {missing}" if missing else "", _outside_text(m) if extra else ""]))
        return not missing and not extra, text or "all expected values present"
    return TableRule(check, metrics, observe)


def _outside_text(m: dict[str, Any]) -> str:
    return f"{m['outside']} distinct values outside the set, e.g. {m['example']!r}" if m["outside"] else "none outside the set"


def _ratio(numerator: str, denominator: str) -> Callable[[Check], TableRule]:
    """A ratio of two aggregates of the column (each with ``{}`` for it), compared to the range."""
    def build(check: Check) -> TableRule:
        col = ident(check.arg("column"))

        def observe(m: dict[str, Any], _: StructType) -> tuple[bool, Any]:
            value = m["num"] / m["den"] if m["den"] else None
            return in_range(value, check), value
        return TableRule(check, {"num": numerator.format(col), "den": denominator.format(col)}, observe)
    return build


def _schema(judge: Callable[[list[str], Check], tuple[bool, Any]]) -> Callable[[Check], TableRule]:
    """An expectation on the column names only: no aggregate, no scan."""
    def build(check: Check) -> TableRule:
        return TableRule(check, {}, lambda _, schema: judge(schema.fieldNames(), check))
    return build


def _column_set(columns: list[str], check: Check) -> tuple[bool, Any]:
    expected = set(check.arg("column_set") or [])
    missing, extra = sorted(expected - set(columns)), sorted(set(columns) - expected)
    ok = not missing and not (extra and check.arg("exact_match", True))
    return ok, {"columns": columns, "missing": missing, "unexpected": extra}


_BUILDERS: dict[str, Callable[[Check], TableRule]] = {
    "expect_table_row_count_to_be_between": _row_count,
    "expect_table_row_count_to_equal": _row_count_equal,
    "expect_column_min_to_be_between": _scalar("min({})"),
    "expect_column_max_to_be_between": _scalar("max({})"),
    "expect_column_mean_to_be_between": _scalar("avg({})"),
    "expect_column_sum_to_be_between": _scalar("sum({})"),
    "expect_column_stdev_to_be_between": _scalar("stddev_samp({})"),
    "expect_column_median_to_be_between": _scalar("percentile_approx({}, 0.5D, 10000)"),
    "expect_column_unique_value_count_to_be_between": _scalar("count(DISTINCT {})"),
    "expect_column_quantile_values_to_be_between": _quantiles,
    "expect_column_distinct_values_to_be_in_set": _distinct_in_set,
    "expect_column_distinct_values_to_contain_set": lambda c: _distinct_contain_set(c, exact=False),
    "expect_column_distinct_values_to_equal_set": lambda c: _distinct_contain_set(c, exact=True),
    "expect_column_proportion_of_unique_values_to_be_between": _ratio("count(DISTINCT {})", "count({})"),
    "expect_column_proportion_of_non_null_values_to_be_between": _ratio("count({})", "count(1)"),
    "expect_table_columns_to_match_set": _schema(_column_set),
    "expect_table_columns_to_match_ordered_list": _schema(
        lambda cols, k: (cols == list(k.arg("column_list")), cols)),
    "expect_table_column_count_to_be_between": _schema(lambda cols, k: (in_range(len(cols), k), len(cols))),
    "expect_table_column_count_to_equal": _schema(lambda cols, k: (len(cols) == k.arg("value"), len(cols))),
    "expect_column_to_exist": _schema(lambda cols, k: (k.arg("column") in cols, k.arg("column") in cols)),
}
