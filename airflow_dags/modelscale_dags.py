"""One Airflow DAG per pipeline in conf/pipelines, built from the same config the jobs read.

Each task spark-submits a thin entry point from jobs/ with ``--run-date {{ ds }}``; training runs
only on training days (``schedule.train_every_days``) and a skipped training does not block
scoring. Set in the scheduler's environment:

- ``MODELSCALE_ENV`` (default ``local``): the config overlay the jobs run with;
- ``MODELSCALE_CONF`` / ``MODELSCALE_HOME``: passed through to the jobs;
- ``MODELSCALE_SPARK_CONN`` (default ``modelscale_spark``): the Airflow Spark connection, e.g.
  ``AIRFLOW_CONN_MODELSCALE_SPARK='{"conn_type": "spark", "host": "local[2]"}'``;
- ``PATH`` must find the ``spark-submit`` of the environment the jobs run in (for example
  ``.venv/bin``), since the Spark provider runs the ``spark-submit`` on PATH.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.standard.operators.python import ShortCircuitOperator
from airflow.sdk import DAG

from modelscale.config import list_pipelines, load_config
from modelscale.config.loader import default_conf_dir
from modelscale.orchestration import is_training_day, task_plan

JOBS_DIR = Path(os.environ.get("MODELSCALE_JOBS_DIR", Path(__file__).resolve().parents[1] / "jobs"))
ENV = os.environ.get("MODELSCALE_ENV", "local")
SPARK_CONN = os.environ.get("MODELSCALE_SPARK_CONN", "modelscale_spark")
PASS_THROUGH = ("MODELSCALE_HOME", "MODELSCALE_CONF", "PYSPARK_PYTHON", "JAVA_HOME")


def _training_day(pipeline: str, ds: str) -> bool:
    return is_training_day(load_config(ENV, pipeline).pipeline.schedule, dt.date.fromisoformat(ds))


def build_dag(pipeline: str) -> DAG:
    """The DAG of one pipeline: its schedule from config, one spark-submit task per job."""
    cfg = load_config(ENV, pipeline).pipeline
    sched = cfg.schedule
    env_vars = {k: os.environ[k] for k in PASS_THROUGH if k in os.environ}
    env_vars.setdefault("MODELSCALE_CONF", str(default_conf_dir()))
    with DAG(
        dag_id=f"modelscale__{pipeline}",
        description=cfg.description or f"modelscale pipeline {pipeline}",
        schedule=sched.cron,
        start_date=dt.datetime.combine(sched.start_date, dt.time(), tzinfo=dt.UTC),
        end_date=dt.datetime.combine(sched.end_date, dt.time(), tzinfo=dt.UTC) if sched.end_date else None,
        catchup=sched.catchup,
        max_active_runs=1,  # incremental ingest and training cadence assume run dates in order
        default_args={"retries": sched.retries, "retry_delay": dt.timedelta(minutes=5)},
        tags=["modelscale", pipeline],
    ) as dag:
        tasks = {}
        for spec in task_plan():
            task = SparkSubmitOperator(
                task_id=spec.job,
                application=str(JOBS_DIR / f"{spec.job}.py"),
                application_args=["--env", ENV, "--pipeline", pipeline, "--run-date", "{{ ds }}"],
                conn_id=SPARK_CONN,
                name=f"modelscale-{pipeline}-{spec.job}",
                env_vars=env_vars,
                trigger_rule="none_failed",
            )
            if spec.training_day_only:
                gate = ShortCircuitOperator(
                    task_id="is_training_day",
                    python_callable=_training_day,
                    op_kwargs={"pipeline": pipeline, "ds": "{{ ds }}"},
                    ignore_downstream_trigger_rules=False,
                )
                for up in spec.upstream:
                    tasks[up] >> gate
                gate >> task
            else:
                for up in spec.upstream:
                    tasks[up] >> task
            tasks[spec.job] = task
    return dag


for _name in list_pipelines():
    globals()[f"modelscale__{_name}"] = build_dag(_name)
