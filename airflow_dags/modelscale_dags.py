"""One Airflow DAG per pipeline in conf/pipelines, built from the same config the jobs read.

Each task spark-submits a thin entry point from jobs/ with ``--run-date {{ ds }} --when-due``: the job
itself decides whether it is due, exactly as ``modelscale run pipeline`` does (``modelscale.gates``:
training on training days, without a model or after a monitoring breach, once there are training rows;
scoring and monitoring once there is a model). A job that is not due logs why and exits 99
(`EXIT_NOT_DUE`): its task ends *skipped*. Every task after the first runs when no upstream task failed
(trigger rule ``none_failed``), so score and monitor still run after a skipped train and decide for
themselves, and a run whose tasks all succeeded or were skipped succeeds. A monitoring breach is what
``monitoring.on_breach`` says, as in ``run pipeline``: an alert by default (the monitor task succeeds with a
warning in its log, and the next run's train task reads the retraining request from the monitoring table),
or a failure. Set in the scheduler's environment:

- ``MODELSCALE_ENV`` (default ``local``): the config overlay the jobs run with;
- ``MODELSCALE_CONF`` / ``MODELSCALE_HOME``: passed through to the jobs;
- ``MODELSCALE_SPARK_CONN`` (default ``modelscale_spark``): the Airflow Spark connection, e.g.
  ``AIRFLOW_CONN_MODELSCALE_SPARK='{"conn_type": "spark", "host": "local[2]"}'``; a task whose connection is not
  defined fails saying so (the provider alone would quietly submit to YARN). Skipping on exit 99 needs
  spark-submit to return the driver's exit code: client deploy mode (the default);
- ``MODELSCALE_SECRETS_CONN`` (default ``modelscale_secrets``): an optional Airflow connection (from any secret
  backend) whose extra maps ``<scope>/<key>`` to the secret the config's ``${secret:<scope>/<key>}`` references
  name, e.g. ``{"aws/secret-key": "..."}``;
- ``PATH`` must find the ``spark-submit`` of the environment the jobs run in (for example
  ``.venv/bin``), since the Spark provider runs the ``spark-submit`` on PATH;
- ``MODELSCALE__SPARK__CONNECT_URL=sc://host:15002`` (or ``spark.connect_url`` in the env's config): the tasks run
  ``modelscale run`` from PATH as clients of that long-lived Spark Connect server, without spark-submit or the
  Spark connection (give the workers the same variable: the jobs read it when they run).

The jars a session ``modelscale run`` starts would load (`modelscale.launch`: the native Delta jars `make setup`
fetched, with Delta's SQL extension, and the S3A connector's) go to spark-submit, so the tasks run on the same Delta
engine as ``modelscale run`` (without the Delta jars, ``delta.engine: auto`` picks delta-rs) and reach ``s3a://``.

Credentials belong in Airflow connections or its secret backend, never in the tasks' ``env_vars``: Airflow shows
rendered ``env_vars`` in its UI and, on YARN or Kubernetes, spark-submit puts them on its command line. Each task
puts the secrets of ``MODELSCALE_SECRETS_CONN`` in its own environment just before it runs (`export_secrets`),
masked in Airflow's logs, and spark-submit hands that environment to the job it launches (a driver in cluster
deploy mode does not get it: give such a driver its secrets on the cluster's side).
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
from pathlib import Path
from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Connection, TriggerRule
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowNotFoundException,
    AirflowSkipException,
)
from airflow.sdk.log import mask_secret

from modelscale.config import list_pipelines, load_config
from modelscale.config.loader import default_conf_dir
from modelscale.launch import launch_settings
from modelscale.orchestration import EXIT_NOT_DUE, task_plan
from modelscale.secrets import env_name

JOBS_DIR = Path(os.environ.get("MODELSCALE_JOBS_DIR", Path(__file__).resolve().parents[1] / "jobs"))
ENV = os.environ.get("MODELSCALE_ENV", "local")
SPARK_CONN = os.environ.get("MODELSCALE_SPARK_CONN", "modelscale_spark")
SECRETS_CONN = os.environ.get("MODELSCALE_SECRETS_CONN", "modelscale_secrets")
PASS_THROUGH = ("MODELSCALE_HOME", "MODELSCALE_CONF", "PYSPARK_PYTHON", "JAVA_HOME")  # no secret among them


def export_secrets(context: Any) -> None:
    """Put the secrets of the connection ``SECRETS_CONN``, when defined, in this task's environment as
    ``MODELSCALE_SECRET__<SCOPE>__<KEY>`` (where the job's config loader looks them up), masked in Airflow's logs."""
    try:
        extra = Connection.get(SECRETS_CONN).extra_dejson
    except AirflowNotFoundException:
        return
    for ref, value in extra.items():
        scope, _, key = str(ref).partition("/")
        mask_secret(str(value))
        os.environ[env_name(scope, key)] = str(value)


class JobOperator(SparkSubmitOperator):
    """spark-submit of one modelscale job: skipped when the job exits `EXIT_NOT_DUE`, failed with a clear message
    when the Spark connection is not defined (the provider would fall back to ``--master yarn`` without a word)."""

    def execute(self, context: Any) -> None:
        """Check the connection, submit, and turn the job's not-due exit code into Airflow's skipped state."""
        require_connection(self._conn_id)
        try:
            super().execute(context)
        except AirflowException:
            submitted = self._hook._submit_sp if self._hook is not None else None
            if submitted is not None and submitted.returncode == EXIT_NOT_DUE:
                raise AirflowSkipException(
                    f"{self.task_id} is not due on {context['ds']} (the job exited {EXIT_NOT_DUE}; "
                    "its log above says why)") from None
            raise


def require_connection(conn_id: str) -> None:
    """Fail (without retries: waiting does not define it) when the Airflow connection ``conn_id`` is missing."""
    try:
        Connection.get(conn_id)
    except AirflowNotFoundException:
        raise AirflowFailException(
            f"the Airflow connection {conn_id!r} (MODELSCALE_SPARK_CONN) is not defined, so there is no Spark master "
            f"to submit to. Define it where the tasks run, e.g. AIRFLOW_CONN_{conn_id.upper()}="
            """'{"conn_type": "spark", "host": "local[2]"}' (or "spark://HOST:7077", "yarn", "k8s://https://HOST"), """
            f"or `airflow connections add {conn_id} --conn-type spark --conn-host 'local[2]'`, or set "
            "MODELSCALE_SPARK_CONN to the id of an existing Spark connection") from None


def connect_task(job: str, pipeline: str, env_vars: dict[str, str], trigger_rule: TriggerRule) -> BashOperator:
    """One job as a Spark Connect client, for ``spark.connect_url``: ``modelscale run`` (found on PATH) sends its
    plans to the server, so spark-submit and its connection have no part; BashOperator skips on exit 99 itself."""
    args = ["modelscale", "run", job, "--env", ENV, "--pipeline", pipeline, "--run-date", "{{ ds }}", "--when-due"]
    return BashOperator(task_id=job, trigger_rule=trigger_rule, bash_command=shlex.join(args), env=env_vars,
                        append_env=True, skip_on_exit_code=EXIT_NOT_DUE, pre_execute=export_secrets)


def build_dag(pipeline: str) -> DAG:
    """The DAG of one pipeline: its schedule from config, one task per job: a spark-submit, or a Spark Connect
    client when ``spark.connect_url`` is set (e.g. ``MODELSCALE__SPARK__CONNECT_URL=sc://host:15002``)."""
    app = load_config(ENV, pipeline)
    cfg, connect_url = app.pipeline, app.settings.spark.connect_url
    sched = cfg.schedule
    env_vars = {k: os.environ[k] for k in PASS_THROUGH if k in os.environ}
    env_vars.setdefault("MODELSCALE_CONF", str(default_conf_dir()))
    launch = launch_settings(app.settings.spark, verify=False)  # checked in the jobs' environment by make setup
    # spark-submit's settings win over config's in the job (modelscale.session): hand it the shuffle width too
    # (Spark's 200 tasks per shuffle slowed each daily task several times over on small clusters).
    conf = {**launch.conf, "spark.sql.shuffle.partitions": str(app.settings.spark.shuffle_partitions)}
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
            rule = TriggerRule.NONE_FAILED if spec.upstream else TriggerRule.ALL_SUCCESS
            tasks[spec.job] = connect_task(spec.job, pipeline, env_vars, rule) if connect_url else JobOperator(
                task_id=spec.job,
                trigger_rule=rule,
                application=str(JOBS_DIR / f"{spec.job}.py"),
                application_args=["--env", ENV, "--pipeline", pipeline, "--run-date", "{{ ds }}", "--when-due"],
                conn_id=SPARK_CONN,
                name=f"modelscale-{pipeline}-{spec.job}",
                env_vars=env_vars,
                jars=",".join(launch.jars) or None,
                conf=conf,
                pre_execute=export_secrets,
            )
            for up in spec.upstream:
                tasks[up] >> tasks[spec.job]
    return dag


for _name in list_pipelines():
    globals()[f"modelscale__{_name}"] = build_dag(_name)
