"""A standalone Spark cluster on 127.0.0.1 for tests: pyspark's own master and workers (``bin/spark-class``)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyspark

SPARK_HOME = Path(pyspark.__file__).parent


@dataclass(frozen=True)
class Cluster:
    """A running cluster: the master's URL, its web UI port and each worker's work directory."""

    url: str
    ui_port: int
    work_dirs: list[Path]

    def status(self) -> dict[str, Any]:
        """The master's JSON status (workers, active and completed applications)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as resp:
            return json.load(resp)

    def completed_apps(self, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        """The master's completed applications once it lists ``count`` of them (it learns that a driver stopped
        asynchronously, after spark-submit has returned); what it lists after ``timeout`` seconds otherwise."""
        deadline = time.monotonic() + timeout
        while len(apps := self.status()["completedapps"]) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        return apps


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def standalone_cluster(root: Path, env: dict[str, str], workers: int = 1, cores: int = 2,
                       memory: str = "1g") -> Iterator[Cluster]:
    """Start a master and ``workers`` workers (logs and work directories under ``root``), wait until the master
    lists them all alive, and stop every process on exit, whatever happened."""
    port, ui = free_port(), free_port()
    url = f"spark://127.0.0.1:{port}"
    env = {**env, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOG_DIR": str(root / "logs")}
    procs = [_start(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                     "--webui-port", str(ui)], root / "master.log", env)]
    work_dirs = [root / f"worker-{i}" for i in range(workers)]
    try:
        for i, work in enumerate(work_dirs):
            procs.append(_start(["org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores",
                                 str(cores), "--memory", memory, "--webui-port", str(free_port()), "--work-dir",
                                 str(work)], root / f"worker-{i}.log", env))
        cluster = Cluster(url, ui, work_dirs)
        _wait_for_workers(cluster, workers, procs, root)
        yield cluster
    finally:
        for proc in reversed(procs):
            _stop(proc)


def _wait_for_workers(cluster: Cluster, workers: int, procs: list[subprocess.Popen[bytes]], root: Path) -> None:
    """Poll the master's JSON until it counts ``workers`` alive workers (a JVM start takes seconds to a minute
    on a busy machine); fail with the logs when a process dies or 120 s pass."""
    deadline = time.monotonic() + 120
    while True:
        try:
            if cluster.status().get("aliveworkers", 0) >= workers:
                return
        except OSError:
            pass  # the master's UI is not listening yet
        dead = [p for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(root.glob("*.log")))
            raise RuntimeError(f"the standalone cluster did not come up ({len(dead)} processes exited):\n{logs}")
        time.sleep(0.5)


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([str(SPARK_HOME / "bin" / "spark-class"), *args], env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group (spark-class and its JVM), SIGKILL after 15 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
