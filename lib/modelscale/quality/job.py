"""The validate job, and the validation every job runs on the tables whose suites it owns.

A suite runs in the job that writes its table, right after the write (`suites_run_by`): the feature
table's in the features job, every other one (the silver tables ingest writes) in this job, which
runs between ingest and features. Per table and run date: read the rows of that date
(``date_column``) or the whole table, at the table's current version; validate them in one pass
(`validation`); write the rows that broke an ``error`` row rule to the table's quarantine and check
that no row was lost; append the outcomes to ``dq_results``; build Data Docs. The job fails after
all tables ran when any ``error``-severity expectation failed, with one line per failure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import functions as F

from modelscale.config.models import PipelineConfig
from modelscale.config.validation import TableSuite
from modelscale.context import JobContext, JobResult
from modelscale.errors import TableError
from modelscale.logs import get_logger, step
from modelscale.quality.datadocs import write_data_docs
from modelscale.quality.outcome import Outcome
from modelscale.quality.parameters import Parameters
from modelscale.quality.results import record_results, result_rows
from modelscale.quality.suites import build_check
from modelscale.quality.validate import FrameValidation, validation

log = get_logger("quality.job")
JOB = "validate"


@dataclass
class TableTally:
    """Counts of one table over the run dates, and its ``dq_results`` rows (recorded once per job)."""

    version: int
    rows: int = 0
    quarantined: int = 0
    failed: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    results: list[tuple[Any, ...]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"version": self.version, "rows": self.rows, "passed": self.rows - self.quarantined,
                "quarantined": self.quarantined, "failed_error": len(self.failed), "failed_warn": len(self.warned)}


def run(ctx: JobContext) -> JobResult:
    """Validate every table whose suite this job runs; ok=False when an ``error`` expectation failed."""
    suites = suites_run_by(ctx.pipeline, JOB)
    for table in ctx.pipeline.validation.suites:
        if table not in suites:
            log.info("the suite of %s runs in the %s job, right after it writes the table", table,
                     validated_by(ctx.pipeline, table))
    if not suites:
        return JobResult(JOB, ok=True, message="no validation suites for this job (validation.suites has none "
                                               "for the tables ingest writes)")
    tallies = validate_suites(ctx, suites)
    message = failure_message(tallies)
    return JobResult(JOB, ok=not message, summary={t: tally.as_dict() for t, tally in tallies.items()},
                     message=message)


def validated_by(pipeline: PipelineConfig, table: str) -> str:
    """The job that runs ``table``'s suite: ``features`` for the feature table, else ``validate``."""
    return "features" if pipeline.features is not None and table == pipeline.features.table else JOB


def suites_run_by(pipeline: PipelineConfig, job: str) -> dict[str, TableSuite]:
    """The suites ``job`` runs (see `validated_by`)."""
    return {t: s for t, s in pipeline.validation.suites.items() if validated_by(pipeline, t) == job}


def validate_suites(ctx: JobContext, suites: dict[str, TableSuite]) -> dict[str, TableTally]:
    """Validate each table of ``suites`` at its current version, for every run date (the last one when
    the suite has no date column); the tallies by table."""
    tallies: dict[str, TableTally] = {}
    for table, suite in suites.items():
        version = ctx.lakehouse.version(table)
        if version is None:
            raise TableError(f"table {table} has a validation suite but does not exist yet (run the job that writes it)")
        tally = tallies[table] = TableTally(version=version)
        for run_date in ctx.run_dates if suite.date_column else ctx.run_dates[-1:]:
            validate_table(ctx, table, suite, version, run_date, tally)
    results = [row for tally in tallies.values() for row in tally.results]
    if results:  # one commit for the job, not one per table and date
        record_results(ctx.spark, ctx.lakehouse, results)
    return tallies


def failure_message(tallies: dict[str, TableTally]) -> str:
    """One line per ``error``-severity failure ("" when none failed)."""
    failed = [line for t in tallies.values() for line in t.failed]
    return (f"{len(failed)} expectation(s) failed at error severity:\n  " + "\n  ".join(failed)) if failed else ""


def validate_table(ctx: JobContext, table: str, suite: TableSuite, version: int, run_date: dt.date,
                   tally: TableTally) -> list[Outcome]:
    """Validate one table (the rows of ``run_date`` when the suite has a date column): quarantine, Data Docs,
    and its ``dq_results`` rows added to ``tally``."""
    checks = [build_check(spec, Parameters(ctx.lakehouse, run_date)) for spec in suite.all_expectations()]
    where = f"{suite.date_column} = DATE'{run_date.isoformat()}'" if suite.date_column else None
    validated_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with step(log, f"validate {table}", run_date=run_date, version=version) as info, \
            validation(ctx.lakehouse.read(table, version=version, where=where), table, checks) as v:
        quarantined = _quarantine(ctx, table, suite, v, run_date, version)
        v.check_conserved(quarantined)
        info.update(rows=v.rows, quarantined=quarantined, failed=sum(not o.success for o in v.outcomes))
    tally.rows += v.rows
    tally.quarantined += quarantined
    for o in v.outcomes:
        if not o.success:
            (tally.failed if o.blocking else tally.warned).append(f"{table} {run_date}: {o.describe()}")
            (log.error if o.blocking else log.warning)("%s %s: %s", table, run_date, o.describe())
    tally.results += result_rows(v.outcomes, run_id=ctx.run_id, run_date=run_date, table=table,
                                 table_version=version, validated_at=validated_at)
    if ctx.pipeline.validation.data_docs:
        page = write_data_docs(ctx.settings.home / "data_docs", table=table, run_id=ctx.run_id, run_date=run_date,
                               checks=checks, outcomes=v.outcomes, validated_at=validated_at)
        log.info("data docs: %s", page)
    return v.outcomes


def _quarantine(ctx: JobContext, table: str, suite: TableSuite, v: FrameValidation, run_date: dt.date,
                version: int) -> int:
    """Replace the quarantine rows of this run date (of the whole table without a date column); its rows (a rerun
    that finds the same rows commits nothing: they keep the run id and table version that first found them)."""
    name = suite.quarantine(table)
    if v.failing_rows == 0 and not ctx.lakehouse.exists(name):
        return 0
    rows = v.failing().select("*", F.lit(ctx.run_id).alias("_dq_run_id"), F.lit(run_date).alias("_dq_run_date"),
                              F.lit(version).cast("long").alias("_dq_table_version"))
    where = f"_dq_run_date = DATE'{run_date.isoformat()}'" if suite.date_column else None
    result = ctx.lakehouse.overwrite(name, rows, replace_where=where, skip_unchanged=("_dq_run_id", "_dq_table_version"))
    return result.rows_written if result.committed else v.failing_rows
