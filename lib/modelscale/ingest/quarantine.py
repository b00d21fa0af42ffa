"""Split a parsed batch into accepted and quarantined records, and prove nothing was lost."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

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
    return parsed.where(~is_bad()).drop(RAW, CHECKS)


def quarantined(parsed: DataFrame, source: SourceConfig) -> DataFrame:
    """Bad records: raw line, reason, ``_source_file`` and ``_batch_date``."""
    return parsed.where(is_bad()).select(RAW, reason(source).alias(REASON), SOURCE_FILE, BATCH_DATE)


def count_by_file(parsed: DataFrame) -> dict[str, Counts]:
    """Per-file counts in one pass; a file whose rows read != accepted + quarantined fails."""
    rows = (
        parsed.groupBy(SOURCE_FILE)
        .agg(
            F.count(F.lit(1)).alias("read"),
            F.count_if(~is_bad()).alias("accepted"),
            F.count_if(is_bad()).alias("quarantined"),
        )
        .collect()
    )
    counts = {r[SOURCE_FILE]: Counts(r["read"], r["accepted"], r["quarantined"]) for r in rows}
    for path, c in counts.items():
        check_conservation(path, c)
    return counts


def total(counts: dict[str, Counts]) -> Counts:
    """The sum over files."""
    return Counts(*(sum(getattr(c, f) for c in counts.values()) for f in ("read", "accepted", "quarantined")))


def check_conservation(what: str, counts: Counts, written: Counts | None = None) -> None:
    """Raise `ConservationError` unless read = accepted + quarantined (and that is what landed)."""
    if counts.read != counts.accepted + counts.quarantined:
        raise ConservationError(
            f"{what}: read {counts.read:,} records but accepted {counts.accepted:,} + quarantined "
            f"{counts.quarantined:,} = {counts.accepted + counts.quarantined:,}"
        )
    if written is not None and (written.accepted, written.quarantined) != (counts.accepted, counts.quarantined):
        raise ConservationError(
            f"{what}: {counts.accepted:,} accepted and {counts.quarantined:,} quarantined records were written, "
            f"but bronze and quarantine now hold {written.accepted:,} and {written.quarantined:,} of its files' rows"
        )
