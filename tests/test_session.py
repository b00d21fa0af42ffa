"""The session factory: reuse, local build settings, and Spark Connect."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from pyspark.sql import SparkSession

from modelscale.config.models import SparkSettings
from modelscale.session import get_spark


def test_reuses_the_active_session_and_applies_runtime_conf(spark: SparkSession) -> None:
    again = get_spark(SparkSettings(master="local[1]", conf={"spark.sql.ansi.enabled": "true"}))
    assert again is spark
    assert spark.conf.get("spark.sql.ansi.enabled") == "true"
    spark.conf.set("spark.sql.ansi.enabled", "true")


def test_local_session_is_built_from_config(spark: SparkSession) -> None:
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.conf.get("spark.sql.execution.arrow.pyspark.enabled") == "true"
    assert spark.conf.get("spark.ui.enabled") == "false"
    assert os.environ["PYSPARK_PYTHON"] == sys.executable
    # executors really run this interpreter: a Python UDF reports its sys.executable
    from pyspark.sql.functions import udf

    exe = udf(lambda _: sys.executable)
    assert spark.range(1).select(exe("id")).first()[0] == sys.executable


def test_spark_connect_session_from_config() -> None:
    """connect_url gives a Spark Connect session (the Databricks serverless model)."""
    script = textwrap.dedent(
        """
        from modelscale.config.models import SparkSettings
        from modelscale.session import get_spark
        spark = get_spark(SparkSettings(connect_url="local[1]", shuffle_partitions=1))
        print(type(spark).__module__, spark.range(5).selectExpr("sum(id)").first()[0],
              spark.conf.get("spark.sql.session.timeZone"), spark.conf.get("spark.sql.shuffle.partitions"))
        spark.stop()
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    module, total, tz, shuffle = out.stdout.split()[-4:]
    assert module.startswith("pyspark.sql.connect") and total == "10" and tz == "UTC" and shuffle == "1"


def test_a_session_we_build_has_the_fetched_delta_jars_and_picks_native(spark: SparkSession) -> None:
    """`make setup` fetched the jars (a fresh clone's `make test` does): auto means native Delta."""
    from modelscale.delta import select_engine
    from modelscale.delta.jars import session_jars

    jars = session_jars("auto")
    assert any("delta-spark_" in j for j in jars) and any("delta-storage" in j for j in jars)
    assert spark.conf.get("spark.sql.extensions") == "io.delta.sql.DeltaSparkSessionExtension"
    assert select_engine(spark, "auto").name == "native"


def test_without_the_jars_auto_falls_back_to_delta_rs_and_says_so() -> None:
    script = textwrap.dedent(
        """
        import logging, sys
        logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
        from modelscale.config.models import SparkSettings
        from modelscale.delta import select_engine
        from modelscale.session import get_spark
        spark = get_spark(SparkSettings(master="local[1]", shuffle_partitions=1, delta_jars="none"))
        print("engine", select_engine(spark, "auto").name)
        spark.stop()
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    engine_lines = [ln for ln in out.stdout.splitlines() if ln.startswith("Delta engine")]
    assert engine_lines == ["Delta engine: delta-rs (the Delta jars are not on this session's classpath: "
                            "`make setup` fetches them)"]
    assert "engine delta-rs" in out.stdout.splitlines()


def test_a_failed_jar_fetch_says_so_in_one_line_and_exits_0(tmp_path) -> None:
    """Maven with no reachable repository (an empty local repository behind a dead proxy)."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "MODELSCALE_DELTA_JARS_DIR": str(tmp_path / "jars"),
           "MAVEN_OPTS": f"-Dmaven.repo.local={tmp_path / 'm2'} -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=9 "
                         "-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=9"}
    out = subprocess.run([sys.executable, os.path.join(repo, "scripts", "fetch_delta_jars.py")], env=env,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0 and out.stdout == ""
    (line,) = out.stderr.splitlines()
    assert line.startswith("modelscale: could not fetch the Delta jars (io.delta:delta-spark_4.1_2.13:4.4.0")
    assert line.endswith("sessions use the delta-rs engine")
    assert not (tmp_path / "jars").exists()
