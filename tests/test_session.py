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
