"""Fixtures for the Delta contract suite: a Lakehouse per engine over tables under tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from deltahelpers import LakehouseFactory, lakehouse_factory
from pyspark.sql import SparkSession

from modelscale.delta.engine import native_available

ENGINES = ["delta-rs", "native"]


@pytest.fixture(scope="session")
def native_ready(spark: SparkSession) -> bool:
    return native_available(spark)


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest, native_ready: bool) -> str:
    """Both engines, always: `make setup` fetched the native one's jars (no test downloads anything)."""
    if request.param == "native" and not native_ready:
        pytest.fail("the native Delta engine is not usable in this session: the Delta jars are missing from "
                    ".jars/delta (run make setup, which fetches them) or the session lacks Delta's SQL extension")
    return request.param


@pytest.fixture
def lakehouse(spark: SparkSession, tmp_path: Path, engine_name: str) -> LakehouseFactory:
    """A Lakehouse factory for the engine under test."""
    return lakehouse_factory(spark, tmp_path, engine_name)


@pytest.fixture
def rs_lake(spark: SparkSession, tmp_path: Path) -> LakehouseFactory:
    """A Lakehouse factory on the delta-rs engine (for its own specifics)."""
    return lakehouse_factory(spark, tmp_path, "delta-rs")
