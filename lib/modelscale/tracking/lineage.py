"""What a run was made from: input Delta tables at their versions, code and library versions."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

import mlflow
from mlflow.data.delta_dataset_source import DeltaDatasetSource
from mlflow.data.meta_dataset import MetaDataset

INPUT_PARAM = "input.{table}.version"
TRAIN_END_TAG = "modelscale.train_end"  # the run date a model was trained for: its window ends there


def log_inputs(tables: dict[str, tuple[str, int]], context: str = "training") -> None:
    """``mlflow.log_input`` per table (name -> (Delta location, version)) and a version param each."""
    for name, (location, version) in tables.items():
        source = DeltaDatasetSource(path=location, delta_table_version=version)
        mlflow.log_input(MetaDataset(source, name=name, digest=f"v{version}"), context=context)
        mlflow.log_param(INPUT_PARAM.format(table=name), version)


def input_versions(params: dict[str, str]) -> dict[str, int]:
    """The table versions recorded on a run by `log_inputs`."""
    prefix, suffix = INPUT_PARAM.split("{table}")
    return {k[len(prefix):-len(suffix)]: int(v) for k, v in params.items()
            if k.startswith(prefix) and k.endswith(suffix)}


def environment_tags(spark_version: str) -> dict[str, str]:
    """git commit (and whether the tree was dirty), package, Spark, MLflow and Python versions."""
    commit = _git("rev-parse", "HEAD")
    dirty = "unknown" if commit == "unknown" else str(bool(_git("status", "--porcelain", "--untracked-files=no"))).lower()
    return {
        "git.commit": commit,
        "git.dirty": dirty,
        "modelscale.version": _version("modelscale"),
        "spark.version": spark_version,
        "pyspark.version": _version("pyspark"),
        "mlflow.version": mlflow.__version__,
        "python.version": platform.python_version(),
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _git(*args: str) -> str:
    """``git <args>`` in the package's checkout; "unknown" outside one (an installed wheel)."""
    try:
        out = subprocess.run(["git", *args], cwd=Path(__file__).resolve().parent, capture_output=True,
                             text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()
