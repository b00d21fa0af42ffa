"""Fetch a pom's runtime jars once into a git-ignored folder, for `make setup` (scripts/fetch_*_jars.py).

``mvn dependency:copy-dependencies`` resolves the pom from Maven Central into a scratch folder; the jars pyspark
already ships (Hadoop, Parquet, Jackson, Netty, Scala, ...) are left out so Spark's own versions are the only ones on
the classpath. A manifest records the versions fetched: a re-run with the same versions does nothing. When the fetch
fails the script says so in one line, with what follows from it, and exits 0.
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

from modelscale.delta.jars import MANIFEST  # noqa: E402

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_VERSIONED = re.compile(r"^(?P<artifact>.+?)-\d[\w.+-]*\.jar$")


def artifact(jar: str) -> str:
    """``hadoop-client-api-3.4.2.jar`` -> ``hadoop-client-api``."""
    match = _VERSIONED.match(jar)
    return match.group("artifact") if match else jar


def spark_shipped() -> set[str]:
    import pyspark

    return {artifact(p.name) for p in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}


def fetch(target: Path, pom: Path, versions: dict[str, str]) -> list[str]:
    """Resolve ``pom`` with ``versions`` as Maven properties into a scratch folder, then move the jars Spark lacks
    into ``target`` (whole or not at all), with a manifest of ``versions`` and the jars."""
    with tempfile.TemporaryDirectory(prefix="jars-") as scratch:
        cmd = ["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
               *[f"-D{key}={value}" for key, value in versions.items()],
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
        (staging / MANIFEST).write_text(json.dumps({**versions, "jars": keep}, indent=2))
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        return keep


def fetch_once(target: Path, pom: Path, versions: dict[str, str], what: str, without: str) -> int:
    """`fetch` unless ``target``'s manifest already has ``versions``; on failure one line saying ``what`` was not
    fetched and ``without`` (what follows). Always 0: a machine without Maven or network still sets up."""
    manifest = target / MANIFEST
    if manifest.exists():
        fetched = json.loads(manifest.read_text())
        if all(fetched.get(key) == value for key, value in versions.items()):
            return 0
    if shutil.which("mvn") is None:
        print(f"modelscale: Maven (mvn) is not installed, so {what} were not fetched: {without}", file=sys.stderr)
        return 0
    try:
        jars = fetch(target, pom, versions)
    except Exception as exc:  # network, repository or Maven failure
        print(f"modelscale: could not fetch {what} ({exc}): {without}", file=sys.stderr)
        return 0
    size = sum((target / jar).stat().st_size for jar in jars) / 1e6
    where = target.relative_to(REPO) if target.is_relative_to(REPO) else target
    print(f"fetched {what}: {len(jars)} jars, {size:.0f} MB, into {where}")
    return 0
