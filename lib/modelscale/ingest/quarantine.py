"""Split a parsed batch into accepted and quarantined records, and prove nothing was lost."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame

from modelscale.config.models import SourceConfig
from modelscale.errors import ConservationError
from modelscale.ingest.readers import BATCH_DATE, CHECKS, RAW, REASON, SOURCE_FILE, is_bad, reason


@dataclass(frozen=True)
class Counts:
    """Records read from one file (or a whole batch) and where they went."""

    read: int
    accepted: int
    quarantined: int


def accepted(parsed: DataFrame) -> DataFrame:
    """Good records: the source columns plus ``_source_file`` and ``_batch_date``."""
    return parsed.where(f"NOT ({is_bad()})").drop(RAW, CHECKS)


def quarantined(parsed: DataFrame, source: SourceConfig) -> DataFrame:
    """Bad records: raw line, reason, ``_source_file`` and ``_batch_date``."""
    return parsed.where(is_bad()).selectExpr(RAW, f"{reason(source)} AS {REASON}", SOURCE_FILE, BATCH_DATE)


def check_conservation(what: str, counts: Counts) -> None:
    """Raise `ConservationError` unless read = accepted + quarantined."""
    if counts.read != counts.accepted + counts.quarantined:
        raise ConservationError(
            f"{what}: read {counts.read:,} records but accepted {counts.accepted:,} + quarantined "
            f"{counts.quarantined:,} = {counts.accepted + counts.quarantined:,}"
        )
