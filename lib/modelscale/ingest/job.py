"""The ingest job: landing files to bronze, quarantine and silver, then the ingest log.

Every source is planned first (files found, fingerprinted, checked against the ingest log and the
declared columns), so a bad file fails the run before anything is written. The sources are then
ingested side by side (they write disjoint tables); each source with new files is one batch:

- its files are parsed and the accepted records written to bronze in one pass (nothing is cached,
  however large the batch);
- the records of each file are counted apart, without parsing (its lines, or its parquet rows);
- a batch whose bronze rows fall short of that is parsed again for its bad records, the quarantine;
- bronze and quarantine replace any rows of the same files a crashed run left;
- per file, the rows the two tables now hold must be the records counted;
- the batch's bronze rows are deduped and MERGEd into silver.

The ``ingest_log`` append comes last. Every write carries a `Txn` keyed by the batch id (a digest of
the batch's files), so a rerun after a crash skips what already landed, and a rerun after success
finds no new files and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType, TimestampType

from modelscale.config.models import SourceConfig
from modelscale.context import JobContext, JobResult, dates_span
from modelscale.delta import CommitResult, Lakehouse, Txn
from modelscale.ingest import ingest_log
from modelscale.ingest.ingest_log import LogEntry
from modelscale.ingest.landing import LandingFile, find_files
from modelscale.ingest.quarantine import Counts, accepted, check_conservation, quarantined
from modelscale.ingest.readers import BATCH_DATE, SOURCE_FILE, file_columns, read_batch, records_by_file
from modelscale.ingest.silver import INGESTED_AT, derive_columns, to_silver
from modelscale.local_frames import rows_frame
from modelscale.logs import get_logger, step
from modelscale.sql_text import ident, predicate_string

log = get_logger("ingest")

BATCH_ID = "_batch_id"
LINEAGE_SCHEMA = StructType([StructField(INGESTED_AT, TimestampType(), nullable=False),
                             StructField(BATCH_ID, StringType(), nullable=False)])
PARALLEL_SOURCES = 3


@dataclass(frozen=True)
class SourcePlan:
    """What one source ingests in this run."""

    name: str
    source: SourceConfig
    new_files: list[LandingFile]
    already_ingested: int
    changed: list[str]
    missing_dates: list[dt.date]

    @property
    def batch_id(self) -> str:
        """Deterministic for the same files and contents, so a rerun after a crash reuses it."""
        digest = _digest(f"{f.rel_path}:{f.checksum}" for f in self.new_files)
        dates = sorted({f.file_date for f in self.new_files})
        return f"{self.name}:{dates[0]}..{dates[-1]}:{digest}"


def run(ctx: JobContext) -> JobResult:
    """Ingest every source of the pipeline for ``ctx.run_dates``."""
    with step(log, "ingest", run_dates=dates_span(ctx.run_dates), run_id=ctx.run_id) as info:
        plans = plan_sources(ctx)
        # Sources write disjoint tables: side by side, one source's small jobs fill the gaps of another's.
        with ThreadPoolExecutor(max_workers=PARALLEL_SOURCES, thread_name_prefix="ingest") as pool:
            done = list(pool.map(lambda plan: ingest_source(ctx, plan), plans))
        sources = {plan.name: summary for plan, (summary, _) in zip(plans, done, strict=True)}
        entries = [entry for _, logged in done for entry in logged]
        if entries:
            run_key = _digest(p.batch_id for p in plans if p.new_files)
            ingest_log.record(ctx.spark, ctx.lakehouse, entries, Txn(f"ingest:{ingest_log.TABLE}:{run_key}", 1))
        versions = {t: ctx.lakehouse.version(t) for t in {t for plan in plans for t in _tables(plan.source)}}
        for plan in plans:
            sources[plan.name]["table_versions"] = {t: versions[t] for t in _tables(plan.source)}
        info.update(files=len(entries), rows_read=sum(s["rows_read"] for s in sources.values()),
                    quarantined=sum(s["rows_quarantined"] for s in sources.values()))
    changed = [path for s in sources.values() for path in s["changed_files"]]
    message = (f"{len(changed)} landing file(s) changed after ingestion and were not re-read: {', '.join(changed)}"
               if changed else "")
    return JobResult(job="ingest", summary={"run_dates": dates_span(ctx.run_dates), "sources": sources},
                     message=message)


def plan_sources(ctx: JobContext) -> list[SourcePlan]:
    """Find each source's files for the run dates and keep those not ingested before."""
    found: dict[str, list[LandingFile]] = {}
    for name, source in ctx.pipeline.sources.items():
        found[name] = find_files(ctx.settings.storage.landing, name, source, ctx.run_dates,
                                 ctx.pipeline.schedule.cadence)
    known = ingest_log.known_checksums(ctx.lakehouse, [f.rel_path for files in found.values() for f in files])
    return [_plan(ctx, name, ctx.pipeline.sources[name], files, known) for name, files in found.items()]


def _plan(ctx: JobContext, name: str, source: SourceConfig, files: list[LandingFile],
          known: dict[tuple[str, str], str]) -> SourcePlan:
    new = [f for f in files if (name, f.rel_path) not in known]
    changed = [f.rel_path for f in files if known.get((name, f.rel_path), f.checksum) != f.checksum]
    for path in changed:
        log.warning("source %s: %s changed since it was ingested (different checksum); it is NOT re-read. "
                    "Land the correction as a new file to apply it.", name, path)
    for f in new:
        file_columns(name, source, f)
    dates = {f.run_date for f in files}
    missing = [] if source.snapshot else [d for d in ctx.run_dates if d not in dates]
    if missing:
        log.warning("source %s: no landing file for %s", name, ", ".join(map(str, missing)))
    return SourcePlan(name, source, new, len(files) - len(new), changed, missing)


def ingest_source(ctx: JobContext, plan: SourcePlan) -> tuple[dict[str, Any], list[LogEntry]]:
    """Ingest one source's new files as one batch: its summary and its ingest-log entries."""
    summary: dict[str, Any] = {
        "files_ingested": len(plan.new_files),
        "files_already_ingested": plan.already_ingested,
        "changed_files": plan.changed,
        "missing_dates": [d.isoformat() for d in plan.missing_dates],
        "rows_read": 0, "rows_accepted": 0, "rows_quarantined": 0,
    }
    if not plan.new_files:
        return summary, []
    with step(log, f"ingest {plan.name}", files=len(plan.new_files), batch=plan.batch_id) as info:
        entries = _ingest_batch(ctx, plan)
        counts = Counts(*(sum(getattr(e, f) for e in entries) for f in ("rows_read", "rows_accepted",
                                                                         "rows_quarantined")))
        info.update(read=counts.read, accepted=counts.accepted, quarantined=counts.quarantined)
    summary.update(batch_id=plan.batch_id, rows_read=counts.read, rows_accepted=counts.accepted,
                   rows_quarantined=counts.quarantined)
    return summary, entries


def _ingest_batch(ctx: JobContext, plan: SourcePlan) -> list[LogEntry]:
    """Write bronze, then the quarantine when some record was bad; prove per file that every record counted
    landed in one of them; then MERGE the batch's bronze rows into silver."""
    lh, src, batch_id = ctx.lakehouse, plan.source, plan.batch_id
    ingested_at = dt.datetime.now(dt.UTC)
    lineage = _lineage(ctx.spark, ingested_at, batch_id)
    metadata = {"batch_id": batch_id, "run_id": ctx.run_id}
    files_predicate = _files_predicate(plan.new_files)
    read = records_by_file(plan.name, src, plan.new_files)
    parsed = read_batch(ctx.spark, plan.name, src, plan.new_files)
    derive_columns(accepted(parsed), plan.name, src)  # a derive that does not resolve stops before any write
    bronze = _replace(lh, src.bronze_table, _bronze_columns(accepted(parsed).crossJoin(lineage)), files_predicate,
                      batch_id, metadata, src.allow_schema_evolution)
    good = _landed(lh, src.bronze_table, bronze, files_predicate, read)
    bad: dict[str, int] = {}
    quar = None
    if sum(read.values()) > sum(good.values()):  # some records were bad: parse again for them
        quar = _replace(lh, src.quarantine, quarantined(parsed, src).crossJoin(lineage), files_predicate, batch_id,
                        metadata, False)
        bad = _landed(lh, src.quarantine, quar, files_predicate, {f: n - good.get(f, 0) for f, n in read.items()})
    per_file = {f.rel_path: Counts(read[f.rel_path], good.get(f.rel_path, 0), bad.get(f.rel_path, 0))
                for f in plan.new_files}
    for path, c in per_file.items():
        check_conservation(f"source {plan.name} batch {batch_id} file {path}", c)
    silver = None
    if any(c.accepted for c in per_file.values()):
        # At that version the batch id marks exactly the batch's rows (a rerun's write replaced any rows of
        # its files; a batch id digests its files). One string compare, where the files predicate tests
        # every row against every file's name and date.
        rows = lh.read(src.bronze_table, version=bronze.version, where=f"{BATCH_ID} = {predicate_string(batch_id)}")
        silver = _upsert(lh, src, to_silver(rows, plan.name, src), batch_id, metadata)
    return [
        LogEntry(
            source=plan.name, path=f.rel_path, size=f.size, modified_at=f.mtime, checksum=f.checksum,
            rows_read=c.read, rows_accepted=c.accepted, rows_quarantined=c.quarantined, batch_id=batch_id,
            batch_date=f.file_date, run_id=ctx.run_id, ingested_at=ingested_at,
            bronze_version=_version(bronze), quarantine_version=_version(quar), silver_version=_version(silver),
        )
        for f in plan.new_files
        for c in [per_file[f.rel_path]]
    ]


def _lineage(spark: SparkSession, ingested_at: dt.datetime, batch_id: str) -> DataFrame:
    """The batch's lineage values as one broadcast row, joined to each of its records.

    Not literals: Spark writes a timestamp literal into a query's generated code, so every batch's parse
    would be compiled, and warmed up by the JIT, anew (the benchmark's year of files: about 7% of the ingest).
    """
    return F.broadcast(rows_frame(spark, [(ingested_at, batch_id)], LINEAGE_SCHEMA))


def _files_predicate(files: list[LandingFile]) -> str:
    """SQL selecting the rows of ``files`` (the date prunes the table's files by their stats)."""
    dates = sorted({f"DATE {predicate_string(str(f.file_date))}" for f in files})
    paths = ", ".join(predicate_string(f.rel_path) for f in files)
    return f"{BATCH_DATE} IN ({', '.join(dates)}) AND {SOURCE_FILE} IN ({paths})"


def _bronze_columns(df: DataFrame) -> DataFrame:
    """Source columns first, then the lineage columns in a fixed order."""
    tail = [SOURCE_FILE, INGESTED_AT, BATCH_ID, BATCH_DATE]
    return df.selectExpr(*map(ident, [c for c in df.columns if c not in tail] + tail))


def _replace(lh: Lakehouse, table: str, df: DataFrame, files_predicate: str, batch_id: str,
             metadata: dict[str, str], evolve: bool) -> CommitResult:
    """Write the batch's rows in place of any rows of the same files (a crashed run's)."""
    if not lh.exists(table):  # a new table holds nothing to replace
        return lh.append(table, df, txn=_txn(table, batch_id), metadata=metadata)
    return lh.overwrite(table, df, replace_where=files_predicate, txn=_txn(table, batch_id),
                        merge_schema=evolve, metadata=metadata)


def _upsert(lh: Lakehouse, src: SourceConfig, rows: DataFrame, batch_id: str, metadata: dict[str, str]) -> CommitResult:
    """MERGE deduped rows into silver by primary key; the first load of a new table is a plain append.

    Rows are clustered by the table's partition columns first, so each partition gets one file per batch.
    """
    txn = _txn(src.silver_table, batch_id)
    rows = lh.clustered(src.silver_table, rows)
    if not lh.exists(src.silver_table):
        return lh.append(src.silver_table, rows, txn=txn, metadata=metadata)
    return lh.merge(src.silver_table, rows, src.primary_key, delete_missing=src.delete_missing, txn=txn,
                    merge_schema=src.allow_schema_evolution, metadata=metadata)


def _landed(lh: Lakehouse, table: str, result: CommitResult, files_predicate: str,
            expected: dict[str, int]) -> dict[str, int]:
    """Rows per ``_source_file`` of the batch that ``table`` holds as of ``result``'s commit.

    A commit that only added files, holding as many rows (from their parquet footers) as ``expected``
    in all, proves ``expected`` without a scan; otherwise (a crashed run's rows replaced, a write its
    Txn skipped, a shortfall) the rows are counted. One row per file reaches the driver.
    """
    if result.committed and not result.files_removed and result.rows_written == sum(expected.values()):
        return dict(expected)
    rows = lh.read(table, version=result.version, where=files_predicate).groupBy(SOURCE_FILE).count().collect()
    return {r[SOURCE_FILE]: r["count"] for r in rows}


def _tables(src: SourceConfig) -> tuple[str, ...]:
    """The tables a source writes (their versions, None while a table does not exist, go to the summary)."""
    return src.bronze_table, src.quarantine, src.silver_table, ingest_log.TABLE


def _version(result: CommitResult | None) -> int | None:
    return result.version if result else None


def _txn(table: str, batch_id: str) -> Txn:
    return Txn(app_id=f"ingest:{table}:{batch_id}", version=1)


def _digest(parts: Any) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]
