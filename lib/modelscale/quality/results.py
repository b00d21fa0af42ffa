"""The ``dq_results`` Delta table: one row per expectation per validation."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import (BooleanType, DateType, DoubleType, LongType, StringType, StructField, StructType,
                               TimestampType)

from modelscale.local_frames import rows_frame
from modelscale.sql_text import literal, string

if TYPE_CHECKING:  # Outcome pulls in GX: readers of dq_results (the gate) must not pay for it
    from modelscale.delta import CommitResult, Lakehouse
    from modelscale.quality.outcome import Outcome

DQ_RESULTS = "dq_results"

SCHEMA = StructType([
    StructField("run_id", StringType(), False),
    StructField("run_date", DateType(), False),
    StructField("table", StringType(), False),
    StructField("table_version", LongType(), True),
    StructField("expectation", StringType(), False),
    StructField("expectation_type", StringType(), False),
    StructField("kwargs", StringType(), True),
    StructField("severity", StringType(), False),
    StructField("success", BooleanType(), False),
    StructField("observed_value", StringType(), True),
    StructField("element_count", LongType(), True),
    StructField("unexpected_count", LongType(), True),
    StructField("unexpected_percent", DoubleType(), True),
    StructField("validated_at", TimestampType(), False),
])


def result_rows(outcomes: list[Outcome], *, run_id: str, run_date: dt.date, table: str,
                table_version: int | None, validated_at: dt.datetime) -> list[tuple[Any, ...]]:
    """Rows in `SCHEMA` order for one validation of one table."""
    return [
        (run_id, run_date, table, table_version, o.check.name, o.check.type,
         json.dumps(o.check.kwargs, default=str, sort_keys=True), o.check.severity, o.success,
         _text(o.observed if o.error is None else f"error: {o.error}"), o.element_count, o.unexpected_count,
         o.unexpected_percent, validated_at)
        for o in outcomes
    ]


def record_results(spark: SparkSession, lakehouse: Lakehouse, rows: list[tuple[Any, ...]]) -> CommitResult:
    """Replace the results of the tables and run dates in ``rows`` with ``rows`` (created on first use).

    A rerun of a run date replaces that date's results (the earlier ones stay reachable by time travel) and
    commits nothing when its outcomes are the same, though it validated a later version of the table (the
    results then keep naming the version first validated: see `gate.check_usable`).
    """
    dates: dict[str, set[dt.date]] = {}
    for row in rows:
        dates.setdefault(row[2], set()).add(row[1])
    validated = " OR ".join(f"(`table` = {string(table)} AND run_date IN ({', '.join(literal(d) for d in sorted(ds))}))"
                            for table, ds in sorted(dates.items()))
    return lakehouse.overwrite(DQ_RESULTS, results_frame(spark, rows), replace_where=validated,
                               skip_unchanged=("run_id", "table_version", "validated_at"))


def results_frame(spark: SparkSession, rows: list[tuple[Any, ...]]) -> DataFrame:
    return rows_frame(spark, rows, SCHEMA)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)
