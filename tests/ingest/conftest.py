"""Ingest fixtures: a tiny ``events`` source, real Delta tables under the test's home, a job runner."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from modelscale.catalog import Catalog
from modelscale.config import load_config
from modelscale.config.models import (
    AppConfig, DedupeRule, PipelineConfig, ScheduleConfig, SourceConfig, TableConfig,
)
from modelscale.context import JobContext, JobResult
from modelscale.delta import Lakehouse, select_engine
from modelscale.ingest import job

D1, D2 = dt.date(2013, 1, 1), dt.date(2013, 1, 2)
HEADER = "id,name,amount"

EVENTS = SourceConfig(
    format="csv", path="events", pattern="events_*.csv", options={"header": True, "nullValue": "NA"},
    columns={"id": "int", "name": "string", "amount": "double"}, required=["id", "name"], primary_key=["id"],
    dedupe=DedupeRule(order_by=["_ingested_at", "_source_file"]),
    bronze_table="events_bronze", silver_table="events",
)
EVENT_TABLES = {
    "events_bronze": TableConfig(layer="bronze", partition_by=["_batch_date"]),
    "events_bronze_quarantine": TableConfig(layer="bronze", partition_by=["_batch_date"]),
    "events": TableConfig(layer="silver"),
    "ingest_log": TableConfig(layer="ops"),
}
ALL_EVENT_TABLES = ("events_bronze", "events_bronze_quarantine", "events", "ingest_log")


def events_config(*, bronze_partition_by: tuple[str, ...] = ("_batch_date",), **source_changes: Any) -> AppConfig:
    """The local settings with a pipeline holding only the ``events`` source."""
    tables = {name: t.model_copy(update={"partition_by": list(bronze_partition_by)}) if t.layer == "bronze" else t
              for name, t in EVENT_TABLES.items()}
    pipeline = PipelineConfig(name="events", sources={"events": EVENTS.model_copy(update=source_changes)},
                              tables=tables, schedule=ScheduleConfig(start_date=D1))
    return AppConfig(settings=load_config("local").settings, pipeline=pipeline)


def write_events(home: Path, day: dt.date, *lines: str, header: str = HEADER, name: str | None = None) -> Path:
    """Land an events CSV for ``day`` (header + lines) and return its path."""
    path = home / "landing" / "events" / (name or f"events_{day.isoformat()}.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


Runner = Callable[..., JobResult]


@pytest.fixture(params=["native", "delta-rs"])
def engine(request: pytest.FixtureRequest) -> str:
    """Every ingest guarantee (one commit per table and batch, Txn, quarantine, conservation, reruns) on both
    Delta engines."""
    return request.param


@pytest.fixture
def run_ingest(spark: SparkSession, home: Path, engine: str) -> Runner:
    """``run_ingest(dates, config=None)``: one ingest job run against the test home."""
    def _run(dates: list[dt.date], config: AppConfig | None = None) -> JobResult:
        cfg = config or events_config()
        lakehouse = make_lakehouse(spark, cfg, engine)
        return job.run(JobContext(config=cfg, spark=spark, lakehouse=lakehouse, run_dates=dates, run_id="test"))
    return _run


def make_lakehouse(spark: SparkSession, cfg: AppConfig, engine: str = "delta-rs") -> Lakehouse:
    return Lakehouse(spark, Catalog(cfg.settings, cfg.pipeline), select_engine(spark, engine))


@pytest.fixture
def lakehouse(spark: SparkSession, home: Path, engine: str) -> Lakehouse:
    return make_lakehouse(spark, events_config(), engine)


def versions(lh: Lakehouse, tables: tuple[str, ...] = ALL_EVENT_TABLES) -> dict[str, int | None]:
    return {t: lh.version(t) if lh.exists(t) else None for t in tables}
