"""A small real slice for the training tests: eight days of January 2013 through silver -> features.

Module-scoped pieces are built once: an isolated MODELSCALE_HOME, silver tables written through
the Lakehouse, the features job over the 8 days, and a config trimmed for speed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from features.nycflights import silver_frames
from homes import isolate_home
from pyspark.sql import SparkSession

from modelscale.catalog import Catalog
from modelscale.config import AppConfig, load_config
from modelscale.config.models import PipelineConfig
from modelscale.context import JobContext
from modelscale.delta import Lakehouse, select_engine

START, END = dt.date(2013, 1, 1), dt.date(2013, 1, 8)


@dataclass
class Slice:
    config: AppConfig
    lakehouse: Lakehouse
    spark: SparkSession

    def ctx(self, job_run_id: str = "test", pipeline: PipelineConfig | None = None, **flags: object) -> JobContext:
        cfg = self.config if pipeline is None else self.config.model_copy(update={"pipeline": pipeline})
        return JobContext(config=cfg, spark=self.spark, lakehouse=self.lakehouse, run_dates=[END],
                          run_id=job_run_id, flags={"reproduce": None, "allow_failed_validation": False, **flags})


def small(pipeline: PipelineConfig, **model_updates: object) -> PipelineConfig:
    """The pipeline with an 8-day window (4 train, 1 validation, 3 test days; training from 1 day on) and few
    iterations."""
    assert pipeline.model is not None
    training = pipeline.training.model_copy(update={
        "split": pipeline.training.split.model_copy(
            update={"window_days": 8, "validation_days": 1, "test_days": 3, "min_train_days": 1}),
        "search": pipeline.training.search.model_copy(update={"space": {"logistic_regression": {"regParam": [0.001, 0.1]}}}),
    })
    params = {**pipeline.model.params, "logistic_regression": {"maxIter": 10, "regParam": 0.001}}
    model = pipeline.model.model_copy(update={"params": params, **model_updates})
    return pipeline.model_copy(update={"training": training, "model": model})


@pytest.fixture(scope="module")
def home_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        yield isolate_home(mp, home)


@pytest.fixture(scope="module")
def slice_(spark: SparkSession, home_env: Path) -> Slice:
    """Silver tables for 2013-01-01..08 (+ the day before for weather) and the features job run over them."""
    from modelscale.features.job import run as features_run

    cfg = load_config("local", "flights_delay")
    cfg = cfg.model_copy(update={"pipeline": small(cfg.pipeline)})
    lh = Lakehouse(spark, Catalog(cfg.settings, cfg.pipeline), select_engine(spark, "delta-rs"))
    for name, df in silver_frames(spark, START, END).items():
        lh.overwrite(name, df)
    s = Slice(config=cfg, lakehouse=lh, spark=spark)
    ctx = s.ctx()
    ctx.run_dates = [START + dt.timedelta(days=i) for i in range((END - START).days + 1)]
    features_run(ctx)
    return s
