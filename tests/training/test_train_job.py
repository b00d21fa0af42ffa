"""The train job end to end on two weeks of real flights: metrics, MLflow, registry, promotion, reproduce."""

from __future__ import annotations

import datetime as dt

import mlflow
import pytest
from chispa import assert_df_equality
from training.conftest import Slice

from modelscale.context import JobResult
from modelscale.tracking.registry import CHALLENGER, CHAMPION, alias_version
from modelscale.tracking.setup import EXPERIMENT_KIND_TAG, MODEL_DEVELOPMENT
from modelscale.training.job import run as train


@pytest.fixture(scope="module")
def first(slice_: Slice) -> JobResult:
    return train(slice_.ctx("first"))


def test_features_job_is_idempotent_per_date(slice_: Slice) -> None:
    """Rebuilding one date of a backfill commits nothing while its rows are unchanged; a damaged date is rewritten
    with exactly its rows in one commit."""
    from modelscale.features.job import run as features_run

    lake = slice_.lakehouse
    built = lake.version("features")
    ctx = slice_.ctx()
    ctx.run_dates = [dt.date(2013, 1, 5)]
    unchanged = features_run(ctx)
    assert unchanged.summary["dates_written"] == [] and unchanged.summary["dates_skipped"] == 1
    assert lake.version("features") == built
    day = "flight_date = '2013-01-05'"
    lake.overwrite("features", lake.read("features", version=built, where=day).limit(10), replace_where=day)
    assert features_run(ctx).summary["dates_written"] == ["2013-01-05"]
    assert lake.version("features") == built + 2
    assert_df_equality(lake.read("features", version=built), lake.read("features"), ignore_row_order=True)
    days = lake.read("features").groupBy("flight_date").count().collect()
    assert len(days) == 8 and sum(r["count"] for r in days) == lake.read("flights").count()


def test_first_model_trains_logs_and_becomes_champion(slice_: Slice, first: JobResult) -> None:
    s = first.summary
    assert s["rows"]["test"] > 1000 and s["metrics"]["auc_roc"] > 0.6
    assert s["promoted"] and s["version"] == "1"
    name = "flights_delay"
    assert alias_version(name, CHALLENGER) == alias_version(name, CHAMPION) == "1"
    run = mlflow.get_run(s["mlflow_run_id"])
    assert run.data.params["input.features.version"] == str(s["inputs"]["features"])
    assert run.data.tags["git.commit"] and run.data.tags["spark.version"]
    assert run.data.tags["promotion.decision"] == "promoted"
    inputs = run.inputs.dataset_inputs
    assert [i.dataset.name for i in inputs] == ["features"] and inputs[0].dataset.source_type == "delta_table"
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "figures")}
    assert {"figures/roc_curve.png", "figures/pr_curve.png", "figures/confusion_matrix.png",
            "figures/calibration_curve.png", "figures/feature_importance.png"} <= artifacts
    weights = mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/feature_importance.json")
    model = slice_.config.pipeline.model
    assert weights["kind"] == "coefficient" and set(weights["by_column"]) == {*model.categorical, *model.numeric}
    assert {"dep_hour", "origin=JFK", "origin=(other)"} <= set(weights["by_feature"])
    children = mlflow.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    assert len(children) == 2  # the two regParam candidates


def test_experiments_are_marked_as_model_development(first: JobResult) -> None:
    """MLflow 3's UI opens an experiment tagged custom_model_development on its runs, metrics and models, not on
    the GenAI view; calibration bins are the share of positives per score bin, every test row in one."""
    client = mlflow.MlflowClient()
    run = client.get_run(first.summary["mlflow_run_id"])
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == "modelscale/flights_delay"
    assert experiment.tags[EXPERIMENT_KIND_TAG] == MODEL_DEVELOPMENT == "custom_model_development"
    calibration = mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/curves/calibration.json")["bins"]
    assert sum(b["rows"] for b in calibration) == first.summary["rows"]["test"]
    assert all(0 <= b["positive_rate"] <= 1 and 0 <= b["score"] <= 1 for b in calibration)


def test_reproduce_gives_equal_metrics(slice_: Slice, first: JobResult) -> None:
    again = train(slice_.ctx("again", reproduce=first.summary["mlflow_run_id"]))
    assert again.summary["reproduced"]["equal"], (again.summary["metrics"], again.summary["reproduced"])
    # identical up to floating-point summation order across partitions
    assert again.summary["metrics"] == pytest.approx(first.summary["metrics"], rel=1e-12, abs=1e-12)


def test_an_equal_challenger_does_not_replace_the_champion(slice_: Slice, first: JobResult) -> None:
    second = train(slice_.ctx("second"))
    assert second.summary["version"] == "2" and not second.summary["promoted"]
    assert "below the required" in second.summary["reason"]
    assert alias_version("flights_delay", CHAMPION) == "1" and alias_version("flights_delay", CHALLENGER) == "2"
