"""Fixtures for the Delta contract suite: a Lakehouse per engine over tables under tmp_path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from modelscale.catalog import Catalog
from modelscale.config.models import PipelineConfig, Settings
from modelscale.delta import Lakehouse, select_engine
from modelscale.delta.engine import native_available

ENGINES = ["delta-rs", "native"]


def make_catalog(root: Path, tables: dict[str, dict]) -> Catalog:
    settings = Settings.model_validate({
        "env": "test", "home": str(root),
        "storage": {"root": str(root / "tables"), "landing": str(root / "landing")},
        "mlflow": {"tracking_uri": f"sqlite:///{root}/mlflow.db", "artifact_location": str(root / "mlruns")},
    })
    pipeline = PipelineConfig.model_validate({
        "name": "t", "schedule": {"start_date": dt.date(2024, 1, 1)},
        "tables": {name: {"layer": "silver", **cfg} for name, cfg in tables.items()},
    })
    return Catalog(settings, pipeline)


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest, spark: SparkSession) -> str:
    if request.param == "native" and not native_available(spark):
        pytest.skip("native engine: the Delta jars (io.delta:delta-spark) are not on this session's classpath "
                    "and cannot be downloaded here; delta-rs covers the contract")
    return request.param


LakehouseFactory = Callable[..., Lakehouse]


def lakehouse_factory(spark: SparkSession, root: Path, engine_name: str) -> LakehouseFactory:
    """``build(table=dict(partition_by=[...], properties=..., constraints=...), ...)``."""

    def build(target_file_size_mb: int = 128, max_open_files_per_task: int = 32, **tables: dict) -> Lakehouse:
        engine = select_engine(spark, engine_name, target_file_size_mb=target_file_size_mb,
                               max_open_files_per_task=max_open_files_per_task)
        return Lakehouse(spark, make_catalog(root, tables), engine)

    return build


@pytest.fixture
def lakehouse(spark: SparkSession, tmp_path: Path, engine_name: str) -> LakehouseFactory:
    """A Lakehouse factory for the engine under test."""
    return lakehouse_factory(spark, tmp_path, engine_name)


@pytest.fixture
def rs_lake(spark: SparkSession, tmp_path: Path) -> LakehouseFactory:
    """A Lakehouse factory on the delta-rs engine (for its own specifics)."""
    return lakehouse_factory(spark, tmp_path, "delta-rs")
