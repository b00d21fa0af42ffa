"""Shared fixtures: one local SparkSession for the whole test session, and an isolated home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from homes import isolate_home
from pyspark.sql import SparkSession

from modelscale.config.models import SparkSettings
from modelscale.session import get_spark



@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """``local[2]`` with two shuffle partitions and no UI: small and fast."""
    warehouse = tmp_path_factory.mktemp("warehouse")
    session = get_spark(
        SparkSettings(
            master="local[2]",
            app_name="modelscale-tests",
            shuffle_partitions=2,
            driver_memory="2g",
            ui_enabled=False,
            conf={"spark.sql.warehouse.dir": str(warehouse), "spark.default.parallelism": "2"},
        )
    )
    yield session
    session.stop()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh MODELSCALE_HOME for one test, with the repository's conf/."""
    h = tmp_path / "home"
    h.mkdir()
    return isolate_home(monkeypatch, h)
