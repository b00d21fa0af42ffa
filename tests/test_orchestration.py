"""The scheduler's plan, whether a job is due (`gates`), and a real Airflow DAG run that spark-submits the jobs."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from pyspark.sql import SparkSession
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
    # breached before the model was registered, or on the day itself, or a flagged segment: no pending request
    flagged = replace(breach(dt.date(2013, 1, 3), trained + hour), kind="slice", feature="carrier", segment="UA",
                      metric="auc_roc")
    s.lakehouse.overwrite(table, to_frame(s.spark, [breach(dt.date(2013, 1, 2), trained - hour),
                                                    breach(day, trained + hour), flagged]))
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


def test_dag_tasks_submit_with_the_jars_and_settings_of_a_session_modelscale_starts(home: Path) -> None:
    """Each spark-submit of the DAG carries what `modelscale run`'s own session loads: the Delta jars with Delta's
    extension and the S3A connector's jars (an s3a:// landing fails without them), and the configured shuffle."""
    from modelscale.config import load_config
    from modelscale.launch import launch_settings

    script = """
import json, sys
sys.path.insert(0, "airflow_dags")
import modelscale_dags as m
print(json.dumps([{"jars": t.jars, "conf": t.conf} for t in m.modelscale__flights_delay.tasks]))
"""
    env = {**os.environ, "AIRFLOW_HOME": str(home / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    out = subprocess.run([str(REPO / ".venv-airflow" / "bin" / "python"), "-c", script], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    spark = load_config("local", "flights_delay").settings.spark
    launch = launch_settings(spark)
    assert any("/delta-spark_" in jar for jar in launch.jars) and any("/hadoop-aws-" in jar for jar in launch.jars)
    tasks = json.loads(out.stdout.splitlines()[-1])
    assert len(tasks) == len(JOBS)
    for task in tasks:
        assert task["jars"].split(",") == launch.jars
        assert task["conf"] == {**launch.conf, "spark.sql.shuffle.partitions": str(spark.shuffle_partitions)}
    assert launch.conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"


DAY = [dt.date(2013, 1, d) for d in range(1, 5)]
SKIPPED = ("train", "score", "monitor")


def _week_conf(conf: Path, **monitoring: object) -> Path:
    """A copy of conf/ whose flights_delay trains on one day (window of 4: train, validation, test, so Jan 3 is
    the first training day), without search or promotion floors, never breaches on drift and always on
    performance (AUC floor 0.99: the day after a model first scores, the performance check breaches)."""
    shutil.copytree(REPO / "conf", conf)
    path = conf / "pipelines" / "flights_delay.yaml"
    cfg = yaml.safe_load(path.read_text())
    cfg["training"].update(split={"window_days": 4, "validation_days": 1, "test_days": 1, "min_train_days": 1},
                           search={"method": "none"}, promotion={"metric": "auc_roc", "floors": []})
    cfg["monitoring"].update(psi_threshold=1000.0, thresholds={},
                             performance_floors=[{"metric": "auc_roc", "min": 0.99}], **monitoring)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return conf


@pytest.mark.slow
def test_airflow_runs_days_with_skips_a_first_training_and_a_breach_that_asks_for_retraining(
        spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """2013-01-01..04: the warm-up Jan 1-2 by ``modelscale run pipeline`` (one backfill: keeps the test short) under
    umask 027, then ``airflow dags test`` for each of Jan 3-4 on a fresh Airflow home, and checks of every task's
    state and the tables.

    The warm-up creates nothing other users may read (tables written by Hadoop, logs, the MLflow store). Jan 1-2
    warm up (train, score and monitor skipped), Jan 3 trains the first model, Jan 4 is not a training day (train
    skipped, score and monitor run after it) and its monitoring breaches the performance floor: an alert, the task
    succeeds, and Jan 5's train is due on that request. Then the same monitor task with ``on_breach: fail`` fails,
    and a task whose Spark connection is not defined fails naming it."""
    from deltalake import DeltaTable
    from mlflow import MlflowClient

    from modelscale.catalog import Catalog
    from modelscale.config import load_config
    from modelscale.ingest.demo_data import write_landing
    from modelscale.runner import build_context
    from modelscale.tracking.lineage import TRAIN_END_TAG

    home = tmp_path / "home"
    write_landing(home / "landing", DAY[0], DAY[-1])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MODELSCALE", "AIRFLOW"))},
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "airflow_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_MODELSCALE_SPARK": json.dumps({"conn_type": "spark", "host": "local[2]"}),
        "MODELSCALE_HOME": str(home),
        "MODELSCALE_CONF": str(_week_conf(tmp_path / "conf")),
        "MODELSCALE_ENV": "local",
        "MODELSCALE__SPARK__SHUFFLE_PARTITIONS": "2",
        "PYSPARK_PYTHON": sys.executable,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }

    def airflow(*args: str, **env_updates: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(AIRFLOW), *args], env={**env, **env_updates}, capture_output=True, text=True,
                              timeout=1800)

    modelscale = str(Path(sys.executable).parent / "modelscale")
    warm_up = subprocess.run([modelscale, "run", "pipeline", "--start", str(DAY[0]), "--end", str(DAY[1])], env=env,
                             umask=0o027, capture_output=True, text=True, timeout=1800)
    assert warm_up.returncode == 0, warm_up.stderr[-4000:]
    assert "Delta engine: native" in warm_up.stderr  # Hadoop writes the tables (delta-rs writes with the umask anyway)
    _check_nothing_open_to_others(home)

    assert airflow("db", "migrate").returncode == 0
    logs = {}
    for day in DAY[2:]:
        run = airflow("dags", "test", DAG_ID, str(day))
        logs[day] = run.stdout + run.stderr
        assert run.returncode == 0, logs[day][-4000:]
    states = {}
    for day in DAY[2:]:
        out = airflow("tasks", "states-for-dag-run", DAG_ID, str(day), "-o", "json")
        states[day] = {t["task_id"]: t["state"] for t in json.loads(out.stdout)}
    expected = {day: dict.fromkeys(JOBS, "success") for day in DAY[2:]}
    expected[DAY[3]]["train"] = "skipped"
    assert states == expected

    assert "Delta engine: native" in logs[DAY[2]] and "Delta engine: delta-rs" not in logs[DAY[2]]  # the CLI's
    assert "2013-01-04 train skipped: not a training day" in logs[DAY[3]]
    assert "monitoring alert:" in logs[DAY[3]] and "monitoring alert:" not in logs[DAY[2]]

    for var in ("MODELSCALE_HOME", "MODELSCALE_CONF"):
        monkeypatch.setenv(var, env[var])
    cfg = load_config("local", "flights_delay")
    catalog = Catalog(cfg.settings, cfg.pipeline)

    def rows(table: str) -> list[dict[str, object]]:
        return DeltaTable(catalog.table(table).location).to_pyarrow_table().to_pylist()

    def dates(table: str) -> set[object]:
        return {r["flight_date"] for r in rows(table)}

    assert dates("flights") == dates("features") == set(DAY) and dates("predictions") == set(DAY[2:])
    monitoring = rows("monitoring")
    breached = {(m["run_date"], m["metric"]) for m in monitoring if m["breached"] and m["kind"] != "slice"}
    assert {m["run_date"] for m in monitoring} == set(DAY[2:]) and breached == {(DAY[3], "auc_roc")}
    store = f"sqlite:///{home}/mlflow/mlflow.db"
    client = MlflowClient(store, registry_uri=store)  # not the registry an earlier test of this process set
    versions = client.search_model_versions("name = 'flights_delay'")
    assert [client.get_run(v.run_id).data.tags[TRAIN_END_TAG] for v in versions] == [str(DAY[2])]
    ops = client.search_runs([client.get_experiment_by_name("modelscale/flights_delay/operations").experiment_id])
    outcomes = {(r.data.tags["modelscale.run_date"], r.data.tags["modelscale.job"]): r.data.tags["modelscale.outcome"]
                for r in ops}
    warm_up_outcomes = {("2013-01-01..2013-01-02", job): "skipped" if job in SKIPPED else "ok" for job in JOBS}
    assert outcomes == warm_up_outcomes | {  # a breach is an alert to Airflow, a failed check to the operations log
        (str(day), job): "skipped" if state == "skipped" else "failed" if job == "monitor" and day > DAY[2] else "ok"
        for day in DAY[2:] for job, state in expected[day].items()}
    # the next day is no training day, yet its train task is due: Jan 4's breach asked for a retraining
    next_day = DAY[-1] + dt.timedelta(days=1)
    ctx = build_context("local", "flights_delay", [next_day], config=cfg, spark=spark)
    assert not is_training_day(ctx.pipeline.schedule, next_day)
    assert skip_reason("train", ctx) is None  # (it points MLflow at this home's registry first)
    assert retrain_requested(ctx, next_day) == DAY[3]

    # `tasks test` exits 0 whatever the task's outcome: its log says the state
    fail_conf = _week_conf(tmp_path / "conf-fail", on_breach="fail")
    failed = airflow("tasks", "test", DAG_ID, "monitor", str(DAY[3]), MODELSCALE_CONF=str(fail_conf))
    out = failed.stdout + failed.stderr
    # the task failed: failed, or up_for_retry while schedule.retries leaves it another try
    assert "job monitor failed" in out and re.search(r"new_state=(failed|up_for_retry)\b", out), out[-4000:]

    missing = airflow("tasks", "test", DAG_ID, "ingest", str(DAY[0]), MODELSCALE_SPARK_CONN="no_such_conn")
    out = missing.stdout + missing.stderr
    assert "the Airflow connection 'no_such_conn' (MODELSCALE_SPARK_CONN) is not defined" in out, out[-4000:]
    assert "AIRFLOW_CONN_NO_SUCH_CONN=" in out and re.search(r"new_state=(failed|up_for_retry)\b", out)
    assert "defaulting to" not in out


def _check_nothing_open_to_others(home: Path) -> None:
    """Under umask 027 every file and folder a run created under ``home`` (the test made it and its landing
    files) is closed to other users."""
    created = list(home.rglob("*"))
    kinds = {p.relative_to(home).parts[0] for p in created}
    assert {"lakehouse", "mlflow", "logs"} <= kinds, kinds
    assert any(p.name.endswith(".parquet") for p in created) and any(p.name == "summary.json" for p in created)
    open_to_others = [f"{stat.filemode(p.lstat().st_mode)} {p}" for p in created
                      if p.relative_to(home).parts[:1] != ("landing",) and not p.is_symlink()
                      and p.lstat().st_mode & 0o007]
    assert not open_to_others, "\n".join(open_to_others[:20])
