"""Registered model versions and their aliases (``challenger``, ``champion``); no stages."""

from __future__ import annotations

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

CHALLENGER = "challenger"
CHAMPION = "champion"


def register_challenger(model_uri: str, name: str, run_id: str) -> str:
    """Register ``model_uri`` as a new version of ``name`` with alias ``challenger``; return the version."""
    version = mlflow.register_model(model_uri, name, tags={"run_id": run_id}).version
    MlflowClient().set_registered_model_alias(name, CHALLENGER, version)
    return str(version)


def alias_version(name: str, alias: str) -> str | None:
    """The version holding ``alias``, or None (also when the model is not registered yet)."""
    try:
        return str(MlflowClient().get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def set_alias(name: str, alias: str, version: str) -> None:
    MlflowClient().set_registered_model_alias(name, alias, version)
