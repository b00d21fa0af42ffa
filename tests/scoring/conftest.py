"""A scored slice: four real days of January 2013 (silver -> features), one champion trained at the last day.

Reuses the training tests' helpers (`Slice`, `small`, the module-scoped ``home_env``) with a 4-day
window (train Jan 1-2, validation Jan 3, test Jan 4) and no search. Extra gold tables let tests write broken or
shifted feature tables and their own predictions without touching the slice's.
"""

from __future__ import annotations

import datetime as dt

import pytest
from features.nycflights import silver_frames
from pyspark.sql import SparkSession
from training.conftest import Slice, home_env, small  # noqa: F401  (home_env is a fixture)

from modelscale.catalog import Catalog
from modelscale.config import load_config
from modelscale.config.models import TableConfig
from modelscale.context import JobResult
from modelscale.delta import Lakehouse, select_engine

START, END = dt.date(2013, 1, 1), dt.date(2013, 1, 4)
DAYS = [START + dt.timedelta(days=i) for i in range((END - START).days + 1)]
EXTRA_TABLES = ["features_broken", "features_shifted", "predictions_shifted", "predictions_explained",
                "monitoring_shifted"]


@pytest.fixture(scope="module")
def scored(spark: SparkSession, home_env) -> tuple[Slice, JobResult]:  # noqa: F811
    """The slice with features for every day and a champion (v1) trained at END; returns the train result."""
    from modelscale.features.job import run as features_run
    from modelscale.training.job import run as train

    cfg = load_config("local", "flights_delay")
    pipeline = small(cfg.pipeline)
    split = pipeline.training.split.model_copy(update={"window_days": 4, "validation_days": 1, "test_days": 1})
    search = pipeline.training.search.model_copy(update={"method": "none"})
    gold = TableConfig(layer="gold", partition_by=["flight_date"])
    pipeline = pipeline.model_copy(update={
        "training": pipeline.training.model_copy(update={"split": split, "search": search}),
        "tables": {**pipeline.tables, **{t: gold for t in EXTRA_TABLES[:-1]},
                   EXTRA_TABLES[-1]: TableConfig(layer="ops", partition_by=["run_date"])},
    })
    cfg = cfg.model_copy(update={"pipeline": pipeline})
    lh = Lakehouse(spark, Catalog(cfg.settings, pipeline), select_engine(spark, "delta-rs"))
    for name, df in silver_frames(spark, START, END).items():
        lh.overwrite(name, df)
    s = Slice(config=cfg, lakehouse=lh, spark=spark)
    ctx = s.ctx()
    ctx.run_dates = DAYS
    features_run(ctx)
    train_ctx = s.ctx("train")
    train_ctx.run_dates = [END]
    return s, train(train_ctx)
