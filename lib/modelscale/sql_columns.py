"""Columns declared in config as Spark SQL expressions, checked against the frame they apply to before any write.

An expression that does not parse or resolve is a `ConfigError` naming its config key and the table, with
Spark's one-line reason (e.g. the unresolved column and the names Spark suggests), never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from modelscale.errors import ConfigError

_PYSPARK_ERROR_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")


def sql_columns(df: DataFrame, exprs: Mapping[str, str], *, key: str, table: str) -> list[Column]:
    """``exprs`` (output name -> SQL over ``df``'s columns) as named columns, each checked against ``df``.

    All are analysed at once; only when that fails is each analysed alone, to name the one at fault.
    """
    columns = {name: _parsed(expr, f"{key}.{name}", table).alias(name) for name, expr in exprs.items()}
    together = _resolves(df, list(columns.values())) if columns else True
    if together is not True:
        for name, column in columns.items():
            reason = _resolves(df, [column])
            if reason is not True:
                raise ConfigError(f"{key}.{name}: {exprs[name]!r} is not a valid expression over table {table!r}: "
                                  f"{reason}")
        raise ConfigError(f"{key}: the expressions do not resolve together against table {table!r}: {together}")
    return list(columns.values())


def sql_value(df: DataFrame, expr: str, *, key: str, table: str, name: str = "_value") -> Column:
    """One expression (config key ``key``) as a column named ``name``, checked against ``df``."""
    column = _parsed(expr, key, table).alias(name)
    reason = _resolves(df, [column])
    if reason is not True:
        raise ConfigError(f"{key}: {expr!r} is not a valid expression over table {table!r}: {reason}")
    return column


def _parsed(expr: str, key: str, table: str) -> Column:
    try:
        return F.expr(expr)
    except AnalysisException as exc:  # ParseException on a classic session (Connect parses on analysis)
        raise ConfigError(f"{key}: {expr!r} is not a valid expression over table {table!r}: "
                          f"{_first_line(exc)}") from None


def _resolves(df: DataFrame, columns: list[Column]) -> bool | str:
    """True when ``columns`` resolve against ``df``, else Spark's reason (schema only: no job runs).

    pyspark logs every analysis error with its whole plan and JVM trace to stderr (its query-context loggers);
    here the error is an expected answer, reported as one line, so those loggers are muted meanwhile.
    """
    loggers = [logging.getLogger(name) for name in _PYSPARK_ERROR_LOGGERS]
    muted = [lg.disabled for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        df.select(*columns).schema  # noqa: B018 - analysis is the check
    except AnalysisException as exc:
        return _first_line(exc)
    finally:
        for lg, was in zip(loggers, muted, strict=True):
            lg.disabled = was
    return True


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
