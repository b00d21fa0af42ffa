"""What any launch of our jobs hands Spark, whoever launches them: the session factory for a session it starts,
and the Airflow DAG for its spark-submits. One place, so a task runs with the jars and Delta settings of
``modelscale run``."""

from __future__ import annotations

from dataclasses import dataclass, field

from modelscale.config.models import SparkSettings
from modelscale.delta.jars import EXTENSION_CONF
from modelscale.delta.jars import session_jars as delta_jars
from modelscale.storage.jars import session_jars as s3a_jars


@dataclass(frozen=True)
class Launch:
    """The jars to put on the classpath and the static settings that go with them."""

    jars: list[str] = field(default_factory=list)
    conf: dict[str, str] = field(default_factory=dict)


def launch_settings(settings: SparkSettings, *, verify: bool = True) -> Launch:
    """The native Delta jars with Delta's SQL extension (`modelscale.delta.jars`) and the S3A connector's jars
    (`modelscale.storage.jars`), as settings choose them; ``verify=False`` where the launcher's environment cannot
    check the fetched jars against the jobs' pyspark and delta-spark (the Airflow scheduler's has neither). Delta's
    own jobs take the session's shuffle width: its log state is read in 50 tasks by default, and VACUUM lists files
    in 10,000 (Spark's partition discovery parallelism): on two cores a tiny table's VACUUM took 70 s."""
    delta = delta_jars(settings.delta_jars, verify=verify)
    s3a = s3a_jars(settings.s3a_jars, verify=verify)
    if not delta:
        return Launch(s3a)
    width = str(settings.shuffle_partitions)
    return Launch(delta + s3a,
                  {**EXTENSION_CONF, "spark.databricks.delta.snapshotPartitions": width,
                   "spark.sql.sources.parallelPartitionDiscovery.parallelism": width})
