"""Fetch the native Delta engine's jars once into .jars/delta (git-ignored), for `make setup`.

The version is the installed ``delta-spark`` pip package's and the artifact is the one built for the
installed pyspark's minor (``io.delta:delta-spark_<minor>_2.13``), resolved from Maven Central on
scripts/delta-jars/pom.xml (`maven_jars`). When the fetch fails the script says so in one line and exits 0:
sessions then run on the delta-rs engine.
"""

from __future__ import annotations

import sys

from maven_jars import REPO, fetch_once

from modelscale.delta.jars import expected_versions, fetched_folder


def main() -> int:
    delta_version, spark_minor = expected_versions()
    coordinate = f"io.delta:delta-spark_{spark_minor}_2.13:{delta_version}"
    return fetch_once(fetched_folder(), REPO / "scripts" / "delta-jars" / "pom.xml",
                      {"delta_version": delta_version, "spark_minor": spark_minor},
                      f"the Delta jars ({coordinate})", "sessions use the delta-rs engine")


if __name__ == "__main__":
    sys.exit(main())
