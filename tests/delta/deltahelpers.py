"""Rows and assertions shared by the Delta tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from modelscale.catalog import Catalog
from modelscale.config.models import PipelineConfig, Settings
from modelscale.delta import Lakehouse, select_engine

SCHEMA = "id long, part string, amount double, price decimal(10,2), day date, ts timestamp, ok boolean"


def rows(spark: SparkSession, data: list[tuple], schema: str = SCHEMA) -> DataFrame:
    return spark.createDataFrame(data, schema)


def sample(spark: SparkSession, ids: range | list[int], part: str = "a") -> DataFrame:
    """Rows of every type; one partition, so one append writes one file per partition value."""
    data = [(i, part, i * 1.5, Decimal(f"{i}.25"), dt.date(2024, 1, 1) + dt.timedelta(days=i),
             dt.datetime(2024, 1, 1, 12, 0, 0, 123456) + dt.timedelta(hours=i), i % 2 == 0) for i in ids]
    return rows(spark, data).coalesce(1)


def same(actual: DataFrame, expected: DataFrame) -> None:
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def parquet_files(location: str) -> list[str]:
    return sorted(str(p.relative_to(location)) for p in Path(location).rglob("*.parquet")
                  if "_delta_log" not in p.parts)


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


LakehouseFactory = Callable[..., Lakehouse]


def lakehouse_factory(spark: SparkSession, root: Path, engine_name: str) -> LakehouseFactory:
    """``build(table=dict(partition_by=[...], properties=..., constraints=...), ...)``."""

    def build(target_file_size_mb: int = 128, max_open_files_per_task: int = 32, **tables: dict) -> Lakehouse:
        engine = select_engine(spark, engine_name, target_file_size_mb=target_file_size_mb,
                               max_open_files_per_task=max_open_files_per_task)
        return Lakehouse(spark, make_catalog(root, tables), engine)

    return build
