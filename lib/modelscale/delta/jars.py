"""Where a session we build finds the native Delta engine's jars, and the settings that turn them on.

`make setup` fetches them once (scripts/fetch_delta_jars.py) into ``.jars/delta`` beside ``lib/``, with a
manifest naming the delta-spark version and Spark minor they were resolved for. They are used only while
that still matches the installed ``delta-spark`` and ``pyspark``: stale jars would fail at the first
Delta call, far from the cause.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from modelscale.logs import get_logger

log = get_logger("delta")

MANIFEST = "manifest.json"
FOLDER_ENV = "MODELSCALE_DELTA_JARS_DIR"
# Static settings: they take effect only in a session built with them (spark-submit and Databricks set their own).
EXTENSION_CONF: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def fetched_folder() -> Path:
    """The project-local folder `make setup` fetches into (git-ignored); ``MODELSCALE_DELTA_JARS_DIR`` moves it."""
    if os.environ.get(FOLDER_ENV):
        return Path(os.environ[FOLDER_ENV]).expanduser().resolve()
    return Path(__file__).resolve().parents[3] / ".jars" / "delta"


def expected_versions() -> tuple[str, str]:
    """(delta-spark version, Spark major.minor) of the installed packages: what the jars must match."""
    import pyspark

    return metadata.version("delta-spark"), ".".join(pyspark.__version__.split(".")[:2])


def fetched_jars(folder: Path | None = None) -> list[str]:
    """The jars `make setup` fetched into ``folder`` (default: the Delta jars' folder; none when it did not)."""
    folder = folder or fetched_folder()
    manifest = read_manifest(folder)
    return [str(folder / name) for name in manifest["jars"]] if manifest else []


def read_manifest(folder: Path) -> dict[str, object] | None:
    """What `make setup` recorded of the jars it fetched into ``folder`` (None when it fetched none there)."""
    manifest = folder / MANIFEST
    return json.loads(manifest.read_text()) if manifest.exists() else None


def folder_jars(folder: str, setting_key: str) -> list[str]:
    """Every jar in ``folder``, the value of setting ``setting_key`` (a warning when there is none)."""
    jars = sorted(str(p) for p in Path(folder).expanduser().glob("*.jar"))
    if not jars:
        log.warning("%s is %s, which holds no jars: none are added", setting_key, folder)
    return jars


def setting_jars(setting: str, setting_key: str, folder: Path, mismatch: Callable[[dict[str, object]], str | None],
                 *, verify: bool = True) -> list[str]:
    """The jar paths of a ``*_jars`` setting: ``none`` nothing, a folder all its jars, ``auto`` those `make setup`
    fetched into ``folder`` unless ``mismatch`` (given the manifest) says how they differ from the installed packages:
    then a warning and none. ``verify=False`` takes the fetched ones unchecked, for a launcher whose own environment
    has not the jobs' packages to check them against (the Airflow scheduler's)."""
    if setting == "none":
        return []
    if setting != "auto":
        return folder_jars(setting, setting_key)
    fetched = read_manifest(folder)
    if fetched is None:
        return []
    if verify and (why := mismatch(fetched)):
        log.warning("the %s: not used (make setup fetches the right ones)", why)
        return []
    return fetched_jars(folder)


def session_jars(setting: str, *, verify: bool = True) -> list[str]:
    """The jar paths for ``spark.delta_jars`` (`setting_jars`): the fetched ones must match the installed
    delta-spark and pyspark."""

    def mismatch(fetched: dict[str, object]) -> str | None:
        delta_version, spark_minor = expected_versions()
        if (fetched.get("delta_version"), fetched.get("spark_minor")) == (delta_version, spark_minor):
            return None
        return (f"Delta jars in {fetched_folder()} are for delta-spark {fetched.get('delta_version')} on Spark "
                f"{fetched.get('spark_minor')}, not the installed {delta_version} on {spark_minor}")

    return setting_jars(setting, "spark.delta_jars", fetched_folder(), mismatch, verify=verify)
