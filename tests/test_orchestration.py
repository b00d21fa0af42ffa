"""The scheduler's plan, whether a job is due (`gates`), and a real Airflow DAG run that spark-submits the jobs."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scoring.conftest import scored  # noqa: F401  (fixtures: a champion trained on four real days)
from training.conftest import Slice, home_env  # noqa: F401

from modelscale.config.models import ScheduleConfig
from modelscale.context import JobContext, JobResult
from modelscale.gates import last_registered, retrain_requested, skip_reason, warm_up_dates
from modelscale.monitoring.results import Measure, to_frame
from modelscale.orchestration import TaskSpec, is_training_day, task_plan

REPO = Path(__file__).resolve().parents[1]
AIRFLOW = REPO / ".venv-airflow" / "bin" / "airflow"
DAG_ID = "modelscale__flights_delay"
JOBS = ("ingest", "validate", "features", "train", "score", "monitor")


def test_training_days_follow_the_cadence() -> None:
    sched = ScheduleConfig(start_date=dt.date(2013, 1, 1), train_every_days=7)
    days = [d for d in range(1, 22) if is_training_day(sched, dt.date(2013, 1, d))]
    assert days == [1, 8, 15]
    assert not is_training_day(sched, dt.date(2012, 12, 25))


def test_plan_chains_jobs_in_order() -> None:
    plan = task_plan(["ingest", "validate", "features", "train", "score", "monitor"])
    assert plan == [
        TaskSpec("ingest", []),
        TaskSpec("validate", ["ingest"]),
        TaskSpec("features", ["validate"]),
        TaskSpec("train", ["features"]),
        TaskSpec("score", ["train"]),
        TaskSpec("monitor", ["score"]),
    ]


def _on(s: Slice, day: dt.date, **updates: object) -> JobContext:
    """A context of the scored slice for ``day``, its pipeline config updated by section."""
    pipeline = s.config.pipeline
    assert pipeline is not None
    ctx = s.ctx(pipeline=pipeline.model_copy(update={
        k: getattr(pipeline, k).model_copy(update=v) for k, v in updates.items()}))
    ctx.run_dates = [day]
    return ctx


ALREADY = "flights_delay v1 was already trained for this date"  # the scored slice's champion, trained for Jan 4


def test_a_training_day_trains_once_the_training_split_has_rows_and_once_only(scored: tuple[Slice, JobResult]) -> None:
    s, _ = scored
    every_3_days = {"schedule": {"train_every_days": 3}}  # Jan 1, 4, 7, ...
    assert skip_reason("train", _on(s, dt.date(2013, 1, 4), **every_3_days)) == ALREADY  # a rerun of Jan 4
    assert skip_reason("train", _on(s, dt.date(2013, 1, 1), **every_3_days)).startswith("warm-up")


def test_not_a_training_day_with_a_champion_skips_train_only(scored: tuple[Slice, JobResult]) -> None:
    s, _ = scored
    ctx = _on(s, dt.date(2013, 1, 5))
    assert [skip_reason(job, ctx) for job in ("features", "train", "score", "monitor")] == [
        None, "not a training day", None, None]
    ctx = _on(s, dt.date(2013, 1, 4))
    assert [skip_reason(job, ctx) for job in ("features", "train", "score", "monitor")] == [None, ALREADY, None, None]


def test_a_model_never_scores_a_date_before_the_one_it_was_trained_for(scored: tuple[Slice, JobResult]) -> None:
    s, _ = scored
    later = "flights_delay v1 (@champion) was trained for 2013-01-04, after this date (it may have learnt from its rows)"
    assert [skip_reason(job, _on(s, dt.date(2013, 1, 3))) for job in ("score", "monitor")] == [later, later]


def test_a_breach_after_the_last_training_makes_train_due(scored: tuple[Slice, JobResult]) -> None:
    s, _ = scored
    day, table = dt.date(2013, 1, 4), "monitoring_shifted"  # a monitoring table of this test's own
    trained = last_registered("flights_delay")
    assert trained is not None

    def breach(run_date: dt.date, computed_at: dt.datetime) -> Measure:
        return Measure(run_date=run_date, kind="feature_drift", feature="distance", metric="psi", value=0.9,
                       threshold=0.2, breached=True, evaluated_date=run_date, rows=900, model_name="flights_delay",
                       model_version="1", job_run_id="test", computed_at=computed_at)

    hour = dt.timedelta(hours=1)
    # breached before the model was registered, or on the day itself: no pending request
    s.lakehouse.overwrite(table, to_frame(s.spark, [breach(dt.date(2013, 1, 2), trained - hour),
                                                    breach(day, trained + hour)]))
    assert retrain_requested(_on(s, day, monitoring={"table": table}), day) is None
    assert skip_reason("train", _on(s, day, monitoring={"table": table})) == ALREADY

    s.lakehouse.append(table, to_frame(s.spark, [breach(dt.date(2013, 1, 3), trained + hour)]))
    assert retrain_requested(_on(s, day, monitoring={"table": table}), day) == dt.date(2013, 1, 3)
    assert skip_reason("train", _on(s, day, monitoring={"table": table})) is None
    assert skip_reason("train", _on(s, day, monitoring={"table": table, "retrain_on_breach": False})) == ALREADY


def test_warm_up_dates_lead_until_the_training_split_can_hold_min_train_days(
        scored: tuple[Slice, JobResult]) -> None:
    """The slice's window: 2 train days, then validation and test (one day each); features from Jan 1."""
    s, _ = scored
    days = [dt.date(2013, 1, 1) + dt.timedelta(days=i) for i in range(4)]

    def on(first: int, **updates: object) -> JobContext:
        ctx = _on(s, days[first], **updates)
        ctx.run_dates = days[first:]
        return ctx

    untrained = {"registered_name": "flights_delay_untrained"}
    two_days = {"split": s.config.pipeline.training.split.model_copy(update={"min_train_days": 2})}
    assert warm_up_dates(on(0, model=untrained)) == days[:2]
    assert warm_up_dates(on(0, model=untrained, training=two_days)) == days[:3]
    assert warm_up_dates(on(1, model=untrained)) == []  # the feature table already holds Jan 1
    assert warm_up_dates(on(0)) == []  # a model exists


def test_without_a_model_score_and_monitor_skip_and_train_is_due(scored: tuple[Slice, JobResult]) -> None:
    s, _ = scored
    ctx = _on(s, dt.date(2013, 1, 4), model={"registered_name": "flights_delay_untrained"})
    assert [skip_reason(job, ctx) for job in ("train", "score", "monitor")] == [
        None, "no model to score with yet", "no model to score with yet"]


@pytest.mark.slow
def test_airflow_dag_run_on_a_fresh_install(tmp_path: Path) -> None:
    """A whole DAG run for 2013-01-02 on a fresh home: every task succeeds, ingest and features write their
    tables, and train, score and monitor are not due (warm-up, no model), say why and record it."""
    from deltalake import DeltaTable
    from mlflow import MlflowClient

    from modelscale.ingest.demo_data import write_landing

    home = tmp_path / "home"
    write_landing(home / "landing", dt.date(2013, 1, 1), dt.date(2013, 1, 2))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MODELSCALE", "AIRFLOW"))},
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "airflow_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_MODELSCALE_SPARK": json.dumps({"conn_type": "spark", "host": "local[2]"}),
        "MODELSCALE_HOME": str(home),
        "MODELSCALE_CONF": str(REPO / "conf"),
        "MODELSCALE_ENV": "local",
        "MODELSCALE__SPARK__SHUFFLE_PARTITIONS": "2",
        "PYSPARK_PYTHON": sys.executable,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }

    def airflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(AIRFLOW), *args], env=env, capture_output=True, text=True, timeout=900)

    assert airflow("db", "migrate").returncode == 0
    run = airflow("dags", "test", DAG_ID, "2013-01-02")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    states = airflow("tasks", "states-for-dag-run", DAG_ID, "2013-01-02", "-o", "json")
    assert {t["task_id"]: t["state"] for t in json.loads(states.stdout)} == dict.fromkeys(JOBS, "success"), \
        states.stdout + states.stderr[-2000:]
    assert "Delta engine: native" in out and "Delta engine: delta-rs" not in out  # the CLI's engine
    for job, reason in (("train", "warm-up: the training split does not yet hold"),
                        ("score", "no model to score with yet"), ("monitor", "no model to score with yet")):
        assert f"2013-01-02 {job} skipped: {reason}" in out

    lakehouse = home / "lakehouse"
    flights = DeltaTable(str(lakehouse / "silver" / "flights")).to_pyarrow_table()
    features = DeltaTable(str(lakehouse / "gold" / "features")).to_pyarrow_table()
    assert set(flights.column("flight_date").to_pylist()) == {dt.date(2013, 1, 2)}
    assert set(features.column("flight_date").to_pylist()) == {dt.date(2013, 1, 2)}
    assert not (lakehouse / "gold" / "predictions").exists() and not (lakehouse / "ops" / "monitoring").exists()
    client = MlflowClient(f"sqlite:///{home}/mlflow/mlflow.db")
    ops = client.search_runs([client.get_experiment_by_name("modelscale/flights_delay/operations").experiment_id])
    assert {r.data.tags["modelscale.job"]: r.data.tags["modelscale.outcome"] for r in ops} == {
        "ingest": "ok", "validate": "ok", "features": "ok", "train": "skipped", "score": "skipped",
        "monitor": "skipped"}
    assert {r.data.tags["modelscale.run_date"] for r in ops} == {"2013-01-02"}
