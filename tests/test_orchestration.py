"""The scheduler's plan, and a real Airflow DAG run that spark-submits the jobs."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelscale.config.models import ScheduleConfig
from modelscale.orchestration import TaskSpec, is_training_day, task_plan

REPO = Path(__file__).resolve().parents[1]
AIRFLOW = REPO / ".venv-airflow" / "bin" / "airflow"


def test_training_days_follow_the_cadence() -> None:
    sched = ScheduleConfig(start_date=dt.date(2013, 1, 1), train_every_days=7)
    days = [d for d in range(1, 22) if is_training_day(sched, dt.date(2013, 1, d))]
    assert days == [1, 8, 15]
    assert not is_training_day(sched, dt.date(2012, 12, 25))


def test_plan_chains_jobs_in_order_and_gates_training() -> None:
    plan = task_plan(["ingest", "validate", "features", "train", "score", "monitor"])
    assert plan == [
        TaskSpec("ingest", []),
        TaskSpec("validate", ["ingest"]),
        TaskSpec("features", ["validate"]),
        TaskSpec("train", ["features"], training_day_only=True),
        TaskSpec("score", ["train"]),
        TaskSpec("monitor", ["score"]),
    ]


@pytest.mark.slow
def test_airflow_tasks_spark_submit_the_jobs(tmp_path: Path) -> None:
    """Airflow runs the DAG's ingest and features tasks for one date; they write real tables."""
    from deltalake import DeltaTable

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
        "PYSPARK_PYTHON": sys.executable,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    listed = subprocess.run([str(AIRFLOW), "tasks", "list", "modelscale__flights_delay"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert {"ingest", "validate", "features", "is_training_day", "train", "score", "monitor"} <= set(
        listed.stdout.split()), listed.stdout + listed.stderr[-2000:]
    for task in ("ingest", "features"):
        run = subprocess.run([str(AIRFLOW), "tasks", "test", "modelscale__flights_delay", task, "2013-01-02"],
                             env=env, capture_output=True, text=True, timeout=600)
        out = run.stdout + run.stderr
        assert run.returncode == 0, out[-4000:]
        assert "spark-submit" in out and "2013-01-02" in out
    lakehouse = home / "lakehouse"
    flights = DeltaTable(str(lakehouse / "silver" / "flights")).to_pyarrow_table()
    features = DeltaTable(str(lakehouse / "gold" / "features")).to_pyarrow_table()
    assert dt.date(2013, 1, 2) in set(flights.column("flight_date").to_pylist())
    assert set(features.column("flight_date").to_pylist()) == {dt.date(2013, 1, 2)}
