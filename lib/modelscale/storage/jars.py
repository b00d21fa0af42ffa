"""Where a session we build finds Spark's S3A connector (``s3a://``): ``hadoop-aws`` at the Hadoop version pyspark
ships and the AWS SDK modules it uses, which `make setup` fetches once (scripts/fetch_s3a_jars.py) into
``.jars/s3a`` beside ``lib/``. They are used only while their Hadoop version is pyspark's: hadoop-aws of another
Hadoop fails at the first ``s3a://`` path, far from the cause."""

from __future__ import annotations

import os
import re
from pathlib import Path

from modelscale.delta.jars import setting_jars

FOLDER_ENV = "MODELSCALE_S3A_JARS_DIR"
_HADOOP_JAR = re.compile(r"^hadoop-client-api-(?P<version>[\d.]+)\.jar$")


def fetched_folder() -> Path:
    """The project-local folder `make setup` fetches into (git-ignored); ``MODELSCALE_S3A_JARS_DIR`` moves it."""
    if os.environ.get(FOLDER_ENV):
        return Path(os.environ[FOLDER_ENV]).expanduser().resolve()
    return Path(__file__).resolve().parents[3] / ".jars" / "s3a"


def hadoop_version() -> str:
    """The Hadoop version of pyspark's own Hadoop client jars: the version hadoop-aws must have."""
    import pyspark

    for jar in (Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar"):
        match = _HADOOP_JAR.match(jar.name)
        if match:
            return match.group("version")
    raise RuntimeError("pyspark ships no hadoop-client-api jar: cannot tell which hadoop-aws it needs")


def session_jars(setting: str, *, verify: bool = True) -> list[str]:
    """The jar paths for ``spark.s3a_jars`` (`modelscale.delta.jars.setting_jars`): the fetched ones must be for
    pyspark's Hadoop."""

    def mismatch(fetched: dict[str, object]) -> str | None:
        if fetched.get("hadoop_version") == hadoop_version():
            return None
        return (f"S3A jars in {fetched_folder()} are for Hadoop {fetched.get('hadoop_version')}, "
                f"not pyspark's {hadoop_version()}")

    return setting_jars(setting, "spark.s3a_jars", fetched_folder(), mismatch, verify=verify)
