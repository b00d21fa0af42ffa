"""Find the registered model version that scores (alias or pinned version) and load it for Spark."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from pyspark.ml import PipelineModel

from modelscale.config.monitoring import ScoringConfig
from modelscale.errors import ModelscaleError
from modelscale.tracking.spark_models import load_model


class ModelNotFoundError(ModelscaleError):
    """The registered model, its alias or the pinned version does not exist."""


@dataclass(frozen=True)
class ModelRef:
    """One registered model version and the training run that logged it."""

    name: str
    version: str
    run_id: str
    alias: str | None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def describe(self) -> str:
        return f"{self.name} v{self.version}" + (f" (@{self.alias})" if self.alias else " (pinned)")


def resolve(name: str, cfg: ScoringConfig) -> ModelRef:
    """The version of ``name`` to score with: ``cfg.model_version`` when pinned, else the alias holder."""
    client = MlflowClient()
    try:
        if cfg.model_version is not None:
            mv = client.get_model_version(name, cfg.model_version)
        else:
            mv = client.get_model_version_by_alias(name, cfg.model_alias)
    except MlflowException:
        what = (f"version {cfg.model_version} (scoring.model_version)" if cfg.model_version is not None
                else f"alias @{cfg.model_alias} (scoring.model_alias)")
        raise ModelNotFoundError(
            f"registered model {name!r} has no {what} in the registry at {mlflow.get_registry_uri()}: "
            "train and promote a model first (modelscale run train) or fix the scoring section") from None
    if not mv.run_id:
        raise ModelNotFoundError(f"registered model {name!r} version {mv.version} has no training run id")
    return ModelRef(name=name, version=str(mv.version), run_id=mv.run_id,
                    alias=None if cfg.model_version is not None else cfg.model_alias)


def find(name: str, cfg: ScoringConfig) -> ModelRef | None:
    """Like `resolve`, but None when there is no such model version yet."""
    try:
        return resolve(name, cfg)
    except ModelNotFoundError:
        return None


def input_types(ref: ModelRef) -> dict[str, str] | None:
    """Column -> MLflow type name from the model's signature (None when it was logged without one)."""
    signature = mlflow.models.get_model_info(ref.uri).signature
    if signature is None or signature.inputs is None:
        return None
    return {spec.name: spec.type.name for spec in signature.inputs.inputs if spec.name}


def load(ref: ModelRef, dfs_tmpdir: str) -> PipelineModel:
    """The Spark ``PipelineModel`` of ``ref``, staged in ``dfs_tmpdir`` (classic Spark and Spark Connect alike)."""
    return load_model(ref.uri, dfs_tmpdir)
