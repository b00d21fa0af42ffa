"""The second shipped pipeline, txhousing, end to end from YAML alone: six real months of 2000 as monthly landing
files -> silver -> features -> a regression model -> predictions -> monitoring.

The pipeline's own config (conf/pipelines/txhousing.yaml) with a half-year window (training from three months of
rows, a month to validate, a month to test) and no search: January to April are the warm-up (one backfill of
ingest, validate and features), May trains the first model and it becomes champion, May and June are scored and
monitored. May's monitoring breaches (its sales history drifts from the reference of three months by more than
the test's threshold), so June is trained again although it is no training day, and the retrained model, better on
its test month, scores June.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from monthly import check_months, run_months, trimmed
from pyspark.sql import SparkSession

from modelscale.config import load_config

pytestmark = pytest.mark.slow
START, END = dt.date(2000, 1, 1), dt.date(2000, 6, 1)
SCORED = [dt.date(2000, 5, 1), dt.date(2000, 6, 1)]


def test_txhousing_runs_month_by_month_from_yaml_alone(spark: SparkSession, home: Path) -> None:
    cfg = load_config("local", "txhousing")
    assert cfg.pipeline is not None and cfg.pipeline.schedule.cron == "@monthly"
    pipeline = trimmed(cfg.pipeline, window_days=181, validation_days=30, test_days=30, min_train_days=3)
    # the shipped thresholds hold against the 30 training months of the shipped split; against this test's three,
    # May's sales history drifts by about 0.3: a threshold of 0.1 makes that the breach
    monitoring = pipeline.monitoring
    pipeline = pipeline.model_copy(update={"monitoring": monitoring.model_copy(update={
        "thresholds": {**monitoring.thresholds, "sales_avg_89d": 0.1}})})
    ctx, results = run_months(spark, cfg.model_copy(update={"pipeline": pipeline}), START, END)
    check_months(ctx, results, SCORED)
    assert ctx.lakehouse.engine_name == "native"
    may, june = results[8], results[9:]
    assert may.job == "monitor" and not may.ok and may.summary["retrain_requested"]
    assert any(" feature_drift sales_avg_89d psi=" in b for b in may.summary["breaches"])
    assert [r.job for r in june] == ["ingest", "validate", "features", "train", "score", "monitor"]
    assert june[3].summary["version"] == "2" and june[3].summary["promoted"]
