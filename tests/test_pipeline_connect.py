"""The three-day pipeline of test_pipeline_e2e against a separate Spark Connect server (issue 27, item 3).

The server is its own process, started here from the pyspark distribution (``spark-submit --class
SparkConnectServer``) with the native Delta jars on its classpath and Delta's extension and catalog, as an
operator would run a long-lived one: the jobs' process has no JVM at all (``sc://127.0.0.1:<port>``), so
nothing can reach Spark but the Connect client, the Spark ML model included (`modelscale.tracking.spark_models`).
The same checks as the classic run are made on the tables, the registered model and the MLflow runs (the rerun
check stays with the classic run, to keep this one short). Then, with the server stopped, a job exits 3 naming
the error class, in bounded time. It replaces the test that ran Connect with ``remote("local[2]")``: there the
client owns the server's JVM, so MLflow's JVM path worked and the failure above could not show.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyspark
import pytest
from homes import REPO

from modelscale.delta.jars import EXTENSION_CONF, fetched_jars

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path[:0] = [{tests!r}]
    from modelscale.config.models import SparkSettings
    from modelscale.session import get_spark
    from test_pipeline_e2e import check_three_days, run_three_days

    spark = get_spark(SparkSettings(connect_url={url!r}, shuffle_partitions=2))
    assert type(spark).__module__.startswith("pyspark.sql.connect"), type(spark)
    ctx, results = run_three_days(spark)
    check_three_days(ctx, results)
    print(f"checked on {{ctx.lakehouse.engine_name}}:", ", ".join(r.job for r in results))
    spark.stop()
    """
)
READY_SECONDS = 180


@dataclass(frozen=True)
class ConnectServer:
    """A Spark Connect server process and its ``sc://`` URL."""

    process: subprocess.Popen[bytes]
    url: str


def test_pipeline_over_three_days_on_a_remote_connect_server(connect_server: ConnectServer, tmp_path: Path) -> None:
    env = _env(tmp_path)
    log = tmp_path / "jobs.log"  # a file, not a pipe: what ran is still there if the run times out
    with log.open("w") as err:
        out = subprocess.run([sys.executable, "-c", SCRIPT.format(tests=str(REPO / "tests"), url=connect_server.url)],
                             env=env, stdout=subprocess.PIPE, stderr=err, text=True, timeout=1500, check=False)
    assert out.returncode == 0, log.read_text()[-4000:]
    assert out.stdout.strip().splitlines()[-1] == (
        "checked on native: ingest, validate, features, ingest, validate, features, train, score, monitor")

    # the server goes away: a job fails with exit 3 and Spark's error class, within the client's bounded retries
    connect_server.process.terminate()
    connect_server.process.wait(timeout=60)
    started = time.monotonic()
    failed = subprocess.run([sys.executable, "-m", "modelscale.cli", "run", "score", "--run-date", "2013-01-03"],
                            env=env | {"MODELSCALE__SPARK__CONNECT_URL": connect_server.url},
                            capture_output=True, text=True, timeout=180, check=False)
    assert failed.returncode == 3, failed.stderr[-4000:]
    assert "modelscale: error: Spark failed with SparkConnectGrpcException" in failed.stderr
    assert "Connection refused" in failed.stderr and "Traceback" not in failed.stderr
    assert time.monotonic() - started < 120


@pytest.fixture
def connect_server(tmp_path: Path) -> Iterator[ConnectServer]:
    """A Spark Connect server on a free 127.0.0.1 port with the native Delta jars, stopped at the end."""
    jars = fetched_jars()
    if not jars:
        pytest.skip("the Delta jars are not fetched (make setup)")
    port = _free_port()
    home = Path(pyspark.__file__).parent
    conf = {**EXTENSION_CONF, "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(port), "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2", "spark.databricks.delta.snapshotPartitions": "2",
            "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2"}
    command = [str(home / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
               "--master", "local[2]", "--driver-memory", "2g", "--jars", ",".join(jars),
               *[arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")]]
    log = (tmp_path / "connect-server.log").open("wb")
    env = os.environ | {"SPARK_HOME": str(home), "PYSPARK_PYTHON": sys.executable}
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(proc, port, tmp_path / "connect-server.log")
        yield ConnectServer(proc, f"sc://127.0.0.1:{port}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELSCALE__")}
    return env | {"MODELSCALE_HOME": str(tmp_path / "home"), "MODELSCALE_CONF": str(REPO / "conf")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until the server accepts connections on ``port``; fails at once if it exits, with its log's tail."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the Connect server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the Connect server did not listen on {port} in {READY_SECONDS} s:\n"
                         f"{log.read_text()[-3000:]}")
