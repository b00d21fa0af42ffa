"""SQL text literals and identifiers: the same types and values as F.lit and F.col."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from modelscale.sql_text import ident, literal

VALUES = [None, True, False, 3, 3_000_000_000, -60, 0.5, 1e-05, 1e20, float("inf"), float("-inf"), Decimal("1.25"),
          dt.date(2013, 1, 2), dt.datetime(2013, 1, 2, 3, 4, 5, 600), "it's", "a\\d+ 'q'", "^N[0-9A-Z]{1,5}$", ""]


def test_literals_have_the_type_and_value_f_lit_gives(spark):
    as_sql = spark.range(1).selectExpr(*[f"{literal(v)} AS c{i}" for i, v in enumerate(VALUES)])
    as_lit = spark.range(1).select(*[F.lit(v).alias(f"c{i}") for i, v in enumerate(VALUES)])
    assert [f.dataType for f in as_sql.schema] == [f.dataType for f in as_lit.schema]
    assert as_sql.first() == as_lit.first() == tuple(VALUES)


def test_nan_is_a_double_nan(spark):
    value = spark.range(1).selectExpr(f"{literal(float('nan'))} AS v").first()["v"]
    assert value != value


def test_identifiers_with_backticks_spaces_and_dots_name_their_column(spark):
    names = ["a`b", "with space", "x.y"]
    df = spark.createDataFrame([(1, 2, 3)], names)
    assert df.selectExpr(*[f"{ident(n)} + 0 AS {ident(n)}" for n in names]).first() == (1, 2, 3)


def test_a_value_without_a_literal_is_refused():
    with pytest.raises(TypeError, match="no SQL literal"):
        literal([1, 2])
