"""Fetch Spark's S3A connector (``s3a://``) once into .jars/s3a (git-ignored), for `make setup`.

hadoop-aws at the Hadoop version of pyspark's own Hadoop client jars, with the AWS SDK modules S3A uses instead of
the SDK's 600 MB bundle (scripts/s3a-jars/pom.xml), resolved from Maven Central (`maven_jars`). When the fetch fails
the script says so in one line and exits 0: sessions modelscale starts then cannot read ``s3a://`` paths, and the
object-storage test is skipped.
"""

from __future__ import annotations

import sys

from maven_jars import REPO, fetch_once

from modelscale.storage.jars import fetched_folder, hadoop_version


def main() -> int:
    version = hadoop_version()
    return fetch_once(fetched_folder(), REPO / "scripts" / "s3a-jars" / "pom.xml", {"hadoop_version": version},
                      f"the S3A connector's jars (org.apache.hadoop:hadoop-aws:{version})",
                      "sessions modelscale starts cannot read s3a:// paths")


if __name__ == "__main__":
    sys.exit(main())
