"""The delta-rs engine with executors in separate processes: a real standalone cluster on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from chispa import assert_df_equality
from standalone import SPARK_HOME, standalone_cluster

JOB = textwrap.dedent('''
    import json, os, sys
    from pathlib import Path
    from pyspark.sql import functions as F
    from modelscale.catalog import Catalog
    from modelscale.config.models import PipelineConfig, Settings, SparkSettings
    from modelscale.delta import Lakehouse, select_engine
    from modelscale.session import get_spark

    root = Path(sys.argv[1])
    spark = get_spark(SparkSettings(master=os.environ["MASTER_URL"], shuffle_partitions=2))
    settings = Settings.model_validate({"env": "cluster", "home": str(root),
        "storage": {"root": str(root / "tables"), "landing": str(root)},
        "mlflow": {"tracking_uri": "sqlite:///x.db", "artifact_location": str(root)}})
    pipeline = PipelineConfig.model_validate({"name": "c", "schedule": {"start_date": "2024-01-01"},
        "tables": {"events": {"layer": "silver", "partition_by": ["kind"]}}})
    lake = Lakehouse(spark, Catalog(settings, pipeline), select_engine(spark, "delta-rs"))

    pid = F.udf(lambda: os.getpid(), "long")
    df = spark.range(0, 1000, numPartitions=4).select("id", (F.col("id") % 3).cast("string").alias("kind"),
                                                       F.lit(1.0).alias("score"))
    first = lake.append("events", df)
    src = spark.range(990, 1010, numPartitions=2).select("id", (F.col("id") % 3).cast("string").alias("kind"),
                                                           F.lit(2.0).alias("score"))
    merged = lake.merge("events", src, ["id"])
    executor_pids = {r.p for r in spark.range(0, 4, numPartitions=4).select(pid().alias("p")).collect()}
    print("RESULT " + json.dumps({"driver_pid": os.getpid(), "executor_pids": sorted(executor_pids),
                                  "write_version": first.version, "merge": merged.metrics,
                                  "location": lake.location("events"), "rows": lake.read("events").count()}))
''')


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    with standalone_cluster(tmp_path, env) as running:
        yield running.url, {**env, "SPARK_HOME": str(SPARK_HOME)}


@pytest.mark.cluster
@pytest.mark.slow
def test_write_read_merge_on_a_standalone_cluster(spark, cluster, tmp_path):
    url, env = cluster
    job = tmp_path / "job.py"
    job.write_text(JOB)
    out = subprocess.run(
        [str(SPARK_HOME / "bin" / "spark-submit"), "--master", url, "--conf", f"spark.pyspark.python={sys.executable}",
         "--conf", "spark.ui.enabled=false", "--conf", "spark.executor.memory=768m",
         "--conf", "spark.sql.shuffle.partitions=2",  # spark-submit's settings win over the job's SparkSettings
         str(job), str(tmp_path / "home")],
        env={**env, "MASTER_URL": url}, capture_output=True, text=True, timeout=240)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert out.returncode == 0 and lines, out.stderr[-4000:]
    result = json.loads(lines[0][len("RESULT "):])
    assert result["driver_pid"] not in result["executor_pids"]
    assert result["write_version"] == 0 and result["rows"] == 1010  # the first write creates the table
    assert result["merge"] == {"rows_updated": 10, "rows_inserted": 10, "rows_deleted": 0,
                               "rows_copied": result["merge"]["rows_copied"]}
    from deltalake import DeltaTable
    from pyspark.sql import functions as F

    table = DeltaTable(result["location"]).to_pyarrow_table()
    got = spark.createDataFrame(table.to_pandas()).select("id", "kind", "score")
    expected = spark.range(0, 1010).select("id", (F.col("id") % 3).cast("string").alias("kind"),
                                           F.when(F.col("id") >= 990, 2.0).otherwise(1.0).alias("score"))
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
