"""The ``validation:`` section: one expectation suite per table.

Each expectation is a Great Expectations 1.x expectation type with its arguments and a severity
(``error`` fails the job running the suite, ``warn`` is reported). A suite may instead (or also)
reference a GX suite JSON file (``suite_file``). Every expectation is checked when the config loads against a
static catalog of GX's registered expectations (`modelscale.quality.catalog`; GX is not imported,
so environments without it, such as Airflow's, load configs too), so an unknown name or a bad
argument names the table and the expectation before any Spark work starts.

A suite runs in the job that writes its table, right after the write: the feature table's
(``features.table``) in the features job, every other one (the silver tables ingest writes) in the
validate job, which runs between ingest and features. Rows breaking an ``error`` row rule stay in
the table and are copied to its quarantine; jobs reading the table leave them out
(`modelscale.quality.passing`), matching them by the table's primary key
(`PipelineConfig.primary_key`), so every table with a suite needs one.

Argument values may be GX suite parameters, resolved when the validation runs::

    {$PARAMETER: run_date}                  # the run date (also run_start / run_end timestamps)
    {$PARAMETER: "distinct:airlines.carrier"}  # the distinct values of a column of another table
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from modelscale.config.base import StrictModel

Severity = Literal["error", "warn"]


class ExpectationSpec(StrictModel):
    """One expectation: GX type name, its arguments, severity and an optional display name."""

    type: str
    kwargs: dict[str, Any] = Field(default_factory=dict)
    severity: Severity = "error"
    name: str | None = None

    @property
    def label(self) -> str:
        """The name used in results and quarantine rows: ``name`` or ``type(columns)``."""
        if self.name:
            return self.name
        cols = self.kwargs.get("column_list") or [
            self.kwargs[k] for k in ("column", "column_A", "column_B") if k in self.kwargs
        ]
        return f"{self.type}({','.join(map(str, cols))})" if cols else self.type


class TableSuite(StrictModel):
    """The suite of one table; ``date_column`` restricts a run to the rows of each run date."""

    date_column: str | None = None
    quarantine_table: str | None = None
    suite_file: Path | None = None
    expectations: list[ExpectationSpec] = Field(default_factory=list)

    def quarantine(self, table: str) -> str:
        """Logical name of the quarantine of ``table`` (``<table>_quarantine`` by default)."""
        return self.quarantine_table or f"{table}_quarantine"

    def all_expectations(self) -> list[ExpectationSpec]:
        """Expectations of the suite file (if any) followed by the inline ones."""
        return [*(_read_suite_file(self.suite_file) if self.suite_file else []), *self.expectations]


class ValidationConfig(StrictModel):
    """Suites by table name, and whether Data Docs are built."""

    data_docs: bool = True
    suites: dict[str, TableSuite] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_expectations(self) -> ValidationConfig:
        from modelscale.quality.catalog import check_expectation  # a static catalog: no GX import

        for table, suite in self.suites.items():
            try:
                specs = suite.all_expectations()
            except ValueError as exc:
                raise ValueError(f"suite for table {table!r}: {exc}") from None
            if not specs:
                raise ValueError(f"suite for table {table!r} has no expectations (add expectations or suite_file)")
            seen: set[str] = set()
            for i, spec in enumerate(specs):
                where = f"suite for table {table!r}, expectation #{i + 1} {spec.label}"
                if spec.label in seen:
                    raise ValueError(f"{where}: the name is used twice in this suite; set a distinct name")
                seen.add(spec.label)
                problem = check_expectation(spec)
                if problem:
                    raise ValueError(f"{where}: {problem}")
        return self


_GX_SEVERITY = {"critical": "error", "warning": "warn", "info": "warn"}


def _read_suite_file(path: Path) -> list[ExpectationSpec]:
    """Expectations of a GX suite JSON file; severity from ``meta.severity`` or GX's own severity."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"suite_file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"suite_file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise ValueError(f"suite_file {path}: expected a GX suite with an 'expectations' list")
    specs = []
    for e in data["expectations"]:
        meta = e.get("meta") or {}
        severity = meta.get("severity") or _GX_SEVERITY.get(e.get("severity", "critical"), "error")
        try:
            specs.append(ExpectationSpec(type=e.get("type") or e.get("expectation_type", ""),
                                         kwargs=e.get("kwargs") or {}, severity=severity, name=meta.get("name")))
        except ValueError as exc:
            raise ValueError(f"suite_file {path}: expectation {e.get('type')!r}: {exc}") from None
    return specs
