"""Refuse table versions whose last validation failed at ``error`` severity."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import Window
from pyspark.sql import functions as F

from modelscale.errors import ModelscaleError
from modelscale.logs import get_logger
from modelscale.quality.results import DQ_RESULTS

if TYPE_CHECKING:
    from modelscale.delta import Lakehouse

log = get_logger("quality.gate")
MAX_LISTED = 20


class ValidationGateError(ModelscaleError):
    """A downstream job asked for a table version that failed validation."""


def check_usable(lakehouse: Lakehouse, table: str, version: int, *, override: bool = False) -> None:
    """Raise ValidationGateError when the latest validation of a run date of ``table`` at ``version`` or
    before has an ``error``-severity failure; ``override`` logs a warning and returns instead. A run date
    never validated is usable. Earlier versions count: a rerun whose outcomes were the same keeps the
    results of the version it first validated (`results.record_results`), and a date re-ingested since a
    failed validation stays refused until validated again."""
    failures = failed_expectations(lakehouse, table, version)
    if not failures:
        return
    what = f"table {table} version {version} failed validation at error severity: {'; '.join(failures)}"
    if override:
        log.warning("%s -- used anyway because --allow-failed-validation was given", what)
        return
    raise ValidationGateError(f"{what}. Fix the data and re-run validate, or pass --allow-failed-validation "
                              "to use it anyway")


def failed_expectations(lakehouse: Lakehouse, table: str, version: int) -> list[str]:
    """``"<run date>: <expectation> (observed ...)"`` for error failures of the latest validation per run date
    at ``version`` or before."""
    if not lakehouse.exists(DQ_RESULTS):
        return []
    rows = lakehouse.read(DQ_RESULTS).where((F.col("table") == table) & (F.col("table_version") <= version))
    validation = F.struct("table_version", "validated_at")
    failed = (rows.withColumn("_latest", F.max(validation).over(Window.partitionBy("run_date")))
              .where((validation == F.col("_latest")) & (F.col("severity") == "error") & ~F.col("success"))
              .orderBy("run_date", "expectation").limit(MAX_LISTED).collect())
    return [f"{r.run_date}: {r.expectation} (observed {r.observed_value}, unexpected {r.unexpected_count})"
            for r in failed]
