"""The one Spark session factory used by every job, notebook, DAG and test.

Reuses the active session when there is one (spark-submit, Databricks, a notebook), connects
to Spark Connect when ``spark.connect_url`` is set, and otherwise builds a local session from
config. It never touches ``sparkContext`` so the same code runs on Spark Connect.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from modelscale.config.models import SparkSettings
from modelscale.launch import launch_settings
from modelscale.logs import get_logger
from modelscale.secrets import SECRET_NAME_REGEX

log = get_logger("session")

# Set on every session we build: reproducible timestamps, Arrow transfers, Python data source pushdown.
BASE_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.python.filterPushdown.enabled": "true",
    "spark.sql.sources.partitionOverwriteMode": "static",
}
UMASK_CONF = "spark.hadoop.fs.permissions.umask-mode"
# Retries of a remote Connect server's calls: 50 ms growing 4x to 10 s, six times (about 25 s in all).
CONNECT_RETRIES: dict[str, int] = {"max_retries": 6, "max_backoff": 10_000}


def get_spark(settings: SparkSettings) -> SparkSession:
    """Return the active session, the launcher's session (spark-submit), a Spark Connect session, or a new local
    one. Master, memory, jars and the other build settings apply only to a session modelscale starts itself."""
    active = SparkSession.getActiveSession()
    if active is not None:
        log.info("reusing the active Spark session (Spark %s)", active.version)
        _apply_runtime_conf(active, settings)
        return active
    if launched_by_spark_submit():
        return _launcher_session(settings)
    _pin_python()
    if settings.connect_url:
        log.info("connecting to Spark Connect at %s", settings.connect_url)
        builder = SparkSession.builder.remote(settings.connect_url)
        if not settings.connect_url.startswith("sc://"):  # pyspark starts this server: its JVM takes the jars
            builder = _with_launch_settings(builder, settings).config(UMASK_CONF, _umask_mode())
        spark = builder.getOrCreate()
        if settings.connect_url.startswith("sc://"):
            _fail_fast(spark)
        # a session of our own, like a local one: the configured shuffle width too (Spark's 200 is slow for
        # the small shuffles of daily batches)
        _apply_runtime_conf(spark, settings, {"spark.sql.shuffle.partitions": str(settings.shuffle_partitions)})
        return spark
    builder = (
        SparkSession.builder.master(settings.master)
        .appName(settings.app_name)
        .config("spark.driver.memory", settings.driver_memory)
        .config("spark.ui.enabled", str(settings.ui_enabled).lower())
        .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
        .config("spark.driver.extraJavaOptions", "-Dlog4j.rootLogger=WARN")
        # Stage bars only on a terminal: in log files they bury the job's own progress lines.
        .config("spark.ui.showConsoleProgress", str(sys.stderr.isatty()).lower())
        # The Spark UI and event logs hide the settings our logs hide (Spark's default misses account keys, SAS).
        .config("spark.redaction.regex", SECRET_NAME_REGEX)
        .config(UMASK_CONF, _umask_mode())
    )
    builder = _with_launch_settings(builder, settings)
    for key, value in {**BASE_CONF, **settings.conf}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    log.info("started Spark %s master=%s shuffle_partitions=%d", spark.version, settings.master,
             settings.shuffle_partitions)
    return spark


def is_connect(spark: SparkSession) -> bool:
    """Whether ``spark`` is a Spark Connect client (a classic session's ``client`` raises, so ask its type)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def launched_by_spark_submit() -> bool:
    """True when spark-submit (or pyspark's shell) started this Python and its JVM is waiting for the session: it
    hands the gateway's port over in ``PYSPARK_GATEWAY_PORT``."""
    return bool(os.environ.get("PYSPARK_GATEWAY_PORT"))


def _launcher_session(settings: SparkSettings) -> SparkSession:
    """The session spark-submit configured (its ``--master``, ``--jars``, ``--conf``): config's master and build
    settings would override them (a cluster job ending up on ``local[2]`` or a YARN it cannot reach). Only what
    keeps secrets and files safe is added; runtime settings follow as on any reused session."""
    spark = (SparkSession.builder.config("spark.redaction.regex", SECRET_NAME_REGEX)
             .config(UMASK_CONF, _umask_mode()).getOrCreate())
    master = spark.conf.get("spark.master", None)
    log.info("using the session spark-submit configured (Spark %s, master %s); config's spark.master %s applies "
             "only when modelscale starts Spark itself", spark.version, master, settings.master)
    _apply_runtime_conf(spark, settings)
    return spark


def _fail_fast(spark: SparkSession) -> None:
    """Bounded retries for a remote Connect server, then one call: one that is down fails here in about 25 s.

    pyspark's client retries an unreachable server for ten minutes, made for an interactive client riding out a
    server restart; each runtime setting below would retry that long and be swallowed, so a batch job against a
    stopped server looked hung. Failing, it exits 3 and the scheduler's own retries take over.
    """
    from pyspark.sql.connect.client.retries import DefaultPolicy

    spark.client.set_retry_policies([DefaultPolicy(**CONNECT_RETRIES)])  # type: ignore[attr-defined]
    log.info("Spark Connect server runs Spark %s", spark.version)


def _umask_mode() -> str:
    """The process's umask in octal: Hadoop's file systems (Spark's and native Delta's writes, Spark models)
    set the permissions of what they create from their own umask setting, 022 unless told, not the process's."""
    status = Path("/proc/self/status")  # Linux: read without changing it
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("Umask:"):
                return line.split()[1][-3:]
    mask = os.umask(0o022)  # no /proc: read it by setting it, and put it back at once
    os.umask(mask)
    return f"{mask:03o}"


def _with_launch_settings(builder: SparkSession.Builder, settings: SparkSettings) -> SparkSession.Builder:
    """The jars and static settings of `modelscale.launch` on a session we start."""
    launch = launch_settings(settings)
    conf = {"spark.jars": ",".join(launch.jars), **launch.conf} if launch.jars else launch.conf
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder


def _pin_python() -> None:
    """Executors run the same interpreter (and so the same installed packages) as the driver."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)


def _apply_runtime_conf(spark: SparkSession, settings: SparkSettings, extra: dict[str, str] | None = None) -> None:
    """Session-level settings a running session accepts; static ones are left to the launcher."""
    for key, value in {**BASE_CONF, **(extra or {}), **settings.conf}.items():
        try:
            spark.conf.set(key, value)
        except Exception as exc:  # static or forbidden (serverless) confs: the launcher's choice wins
            log.debug("kept the launcher's %s (%s)", key, type(exc).__name__)
