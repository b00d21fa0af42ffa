"""Fetch the native Delta engine's jars once into .jars/delta (git-ignored), for `make setup`.

The version is the installed ``delta-spark`` pip package's and the artifact is the one built for the
installed pyspark's minor (``io.delta:delta-spark_<minor>_2.13``), resolved from Maven Central by
``mvn dependency:copy-dependencies`` on scripts/delta-jars/pom.xml. Jars pyspark already ships (Hadoop,
Parquet, Jackson, Scala, ...) are left out so Spark's own versions are the only ones on the classpath.
A manifest records what was fetched: a re-run with the same versions does nothing. When the fetch
fails the script says so in one line and exits 0: sessions then run on the delta-rs engine.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lib"))

from modelscale.delta.jars import MANIFEST, expected_versions, fetched_folder  # noqa: E402

POM = REPO / "scripts" / "delta-jars" / "pom.xml"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_VERSIONED = re.compile(r"^(?P<artifact>.+?)-\d[\w.+-]*\.jar$")


def artifact(jar: str) -> str:
    """``hadoop-client-api-3.4.2.jar`` -> ``hadoop-client-api``."""
    match = _VERSIONED.match(jar)
    return match.group("artifact") if match else jar


def spark_shipped() -> set[str]:
    import pyspark

    return {artifact(p.name) for p in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}


def fetch(target: Path, delta_version: str, spark_minor: str) -> list[str]:
    """Resolve with Maven into a scratch folder, then move the jars Spark lacks into ``target``."""
    with tempfile.TemporaryDirectory(prefix="delta-jars-") as scratch:
        cmd = ["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
               f"-Ddelta.version={delta_version}", f"-Dspark.minor={spark_minor}",
               f"-DoutputDirectory={scratch}", "-DincludeScope=runtime"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            lines = [ln for ln in done.stdout.splitlines() if "ERROR" in ln] or done.stderr.splitlines() or ["?"]
            raise RuntimeError(_ANSI.sub("", lines[0]).replace("[ERROR] ", "").strip())
        shipped = spark_shipped()
        keep = sorted(p.name for p in Path(scratch).glob("*.jar") if artifact(p.name) not in shipped)
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name in keep:
            shutil.copy2(Path(scratch) / name, staging / name)
        (staging / MANIFEST).write_text(json.dumps(
            {"delta_version": delta_version, "spark_minor": spark_minor, "jars": keep}, indent=2))
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)  # the folder appears whole or not at all
        return keep


def main() -> int:
    target = fetched_folder()
    delta_version, spark_minor = expected_versions()
    coordinate = f"io.delta:delta-spark_{spark_minor}_2.13:{delta_version}"
    manifest = target / MANIFEST
    if manifest.exists():
        fetched = json.loads(manifest.read_text())
        if (fetched.get("delta_version"), fetched.get("spark_minor")) == (delta_version, spark_minor):
            return 0
    if shutil.which("mvn") is None:
        print(f"modelscale: Maven (mvn) is not installed, so the Delta jars ({coordinate}) were not fetched: "
              "sessions use the delta-rs engine", file=sys.stderr)
        return 0
    try:
        jars = fetch(target, delta_version, spark_minor)
    except Exception as exc:  # network, repository or Maven failure: the delta-rs engine still works
        print(f"modelscale: could not fetch the Delta jars ({coordinate}: {exc}): sessions use the delta-rs "
              "engine", file=sys.stderr)
        return 0
    print(f"fetched {coordinate} and {len(jars) - 1} jars it needs into {target.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
