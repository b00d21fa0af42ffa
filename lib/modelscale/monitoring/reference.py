"""The training reference profile: saved with the model, read back by the monitor job.

Features are profiled on the training split's rows; the prediction (positive-class probability for a
classifier, the predicted value for a regressor) on the test split's predictions, the model's first
scored rows. The profile is a JSON artifact of the training run (`PROFILE_ARTIFACT`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from pyspark.sql import DataFrame

from modelscale.caching import cached
from modelscale.config.modeling import ModelConfig
from modelscale.config.monitoring import PREDICTION, MonitoringConfig
from modelscale.errors import ModelscaleError
from modelscale.monitoring.profile import ColumnProfile, profile
from modelscale.config.estimators import estimator_spec
from modelscale.training.evaluation import with_score

PROFILE_ARTIFACT = "reference/profile.json"


class ReferenceProfileError(ModelscaleError):
    """A model's training run has no readable reference profile."""


@dataclass(frozen=True)
class ReferenceProfile:
    """Bins and counts per feature and of the prediction; ``prediction_column`` names the scored column."""

    features: dict[str, ColumnProfile]
    prediction: ColumnProfile
    prediction_column: str

    def column(self, name: str) -> ColumnProfile:
        """The profile of a monitored column: a feature, or the prediction as `PREDICTION`."""
        return self.prediction if name == PREDICTION else self.features[name]

    def as_dict(self) -> dict[str, Any]:
        return {"features": {k: v.as_dict() for k, v in self.features.items()},
                "prediction": self.prediction.as_dict(), "prediction_column": self.prediction_column}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReferenceProfile:
        return cls(features={k: ColumnProfile.from_dict(v) for k, v in data["features"].items()},
                   prediction=ColumnProfile.from_dict(data["prediction"]),
                   prediction_column=data["prediction_column"])


def prediction_column(model: ModelConfig) -> str:
    """The predictions-table column whose distribution is monitored: probability or prediction."""
    return "probability" if estimator_spec(model.estimator).task == "classification" else "prediction"


def build_reference(train: DataFrame, test_predictions: DataFrame, model: ModelConfig,
                    cfg: MonitoringConfig) -> ReferenceProfile:
    """Profile the model's feature columns on ``train`` and its prediction on ``test_predictions``."""
    column = prediction_column(model)
    scored = with_score(test_predictions).withColumnRenamed("score", "_p") if column == "probability" \
        else test_predictions.withColumnRenamed("prediction", "_p")
    with cached(train.select(*model.numeric, *model.categorical)) as rows:  # one read of the split for the 5 passes
        feats = profile(rows, model.numeric, model.categorical, bins=cfg.bins, max_categories=cfg.max_categories)
    pred = profile(scored, ["_p"], [], bins=cfg.bins, max_categories=cfg.max_categories)["_p"]
    return ReferenceProfile(features=feats, prediction=pred, prediction_column=column)


def log_reference(train: DataFrame, test_predictions: DataFrame, model: ModelConfig,
                  cfg: MonitoringConfig) -> ReferenceProfile:
    """Build the reference profile and log it to the active MLflow run."""
    ref = build_reference(train, test_predictions, model, cfg)
    mlflow.log_dict(ref.as_dict(), PROFILE_ARTIFACT)
    return ref


def load_reference(training_run_id: str) -> ReferenceProfile:
    """The reference profile logged by training run ``training_run_id``."""
    try:
        return ReferenceProfile.from_dict(mlflow.artifacts.load_dict(f"runs:/{training_run_id}/{PROFILE_ARTIFACT}"))
    except (MlflowException, OSError, KeyError) as exc:
        raise ReferenceProfileError(
            f"training run {training_run_id} has no readable {PROFILE_ARTIFACT} ({type(exc).__name__}): "
            "the model was trained before monitoring existed; retrain it (modelscale run train)") from None
