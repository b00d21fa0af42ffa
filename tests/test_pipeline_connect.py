"""The three-day pipeline of test_pipeline_e2e on Spark Connect (the Databricks serverless and shared-cluster model).

Every job goes through the Connect client: no sparkContext, no RDD, no JVM handle on the driver side. It
runs in its own process: a Connect session cannot share this process with the tests' classic session.
The same checks as the classic run are made on the tables, the model and the MLflow runs it leaves.
The server is started without the Delta jars, as a Connect server we do not control may be, so ``auto``
picks the delta-rs engine: the classic run covers the native engine end to end, this one the jar-less path.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from homes import REPO

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path[:0] = [{tests!r}]
    from modelscale.config.models import SparkSettings
    from modelscale.session import get_spark
    from test_pipeline_e2e import check_rerun_changes_nothing, check_three_days, run_three_days

    spark = get_spark(SparkSettings(connect_url="local[2]", shuffle_partitions=2, delta_jars="none"))
    assert type(spark).__module__.startswith("pyspark.sql.connect"), type(spark)
    ctx, results = run_three_days(spark)
    check_three_days(ctx, results)
    check_rerun_changes_nothing(ctx)
    print(f"checked on {{ctx.lakehouse.engine_name}}:", ", ".join(r.job for r in results))
    spark.stop()
    """
)


def test_pipeline_over_three_days_on_spark_connect(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELSCALE__")}
    env |= {"MODELSCALE_HOME": str(tmp_path / "home"), "MODELSCALE_CONF": str(REPO / "conf")}
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(tests=str(REPO / "tests"))], env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-4000:]
    assert out.stdout.strip().splitlines()[-1] == (
        "checked on delta-rs: ingest, validate, features, ingest, validate, features, train, score, monitor")
