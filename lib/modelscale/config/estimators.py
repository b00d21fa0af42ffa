"""The estimators a pipeline config can name (checked when config loads), and how each is built.

Plain data: nothing here imports Spark until an estimator is created.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from modelscale.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.ml import Estimator

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class EstimatorSpec:
    """Where an estimator lives, its task, whether it needs scaled inputs, its seed param, and whether its models
    compute per-row feature contributions (``scoring.contributions``)."""

    name: str
    task: Task
    target: str
    scale: bool = False
    seed_param: str | None = "seed"
    extra: str | None = None  # the pip package when the estimator is an optional dependency
    contributions: bool = False

    def create(self) -> Estimator:
        """A new estimator with default params (clear error when its package is missing)."""
        module, cls = self.target.split(":")
        try:
            return getattr(importlib.import_module(module), cls)()
        except ImportError:
            raise ConfigError(
                f"model.estimator: {self.name} needs the optional package {self.extra!r} "
                f"(pip install {self.extra})"
            ) from None


_XGB = {"seed_param": "random_state", "extra": "xgboost-cpu", "contributions": True}

ESTIMATORS: dict[str, EstimatorSpec] = {
    s.name: s
    for s in (
        EstimatorSpec("logistic_regression", "classification", "pyspark.ml.classification:LogisticRegression",
                      scale=True, seed_param=None),
        EstimatorSpec("random_forest_classifier", "classification",
                      "pyspark.ml.classification:RandomForestClassifier"),
        EstimatorSpec("gbt_classifier", "classification", "pyspark.ml.classification:GBTClassifier"),
        EstimatorSpec("xgboost_classifier", "classification", "xgboost.spark:SparkXGBClassifier", **_XGB),
        EstimatorSpec("linear_regression", "regression", "pyspark.ml.regression:LinearRegression",
                      scale=True, seed_param=None),
        EstimatorSpec("random_forest_regressor", "regression", "pyspark.ml.regression:RandomForestRegressor"),
        EstimatorSpec("gbt_regressor", "regression", "pyspark.ml.regression:GBTRegressor"),
        EstimatorSpec("xgboost_regressor", "regression", "xgboost.spark:SparkXGBRegressor", **_XGB),
    )
}


def estimator_spec(name: str) -> EstimatorSpec:
    """The spec called ``name``; an unknown name is a config error listing the known ones."""
    try:
        return ESTIMATORS[name]
    except KeyError:
        raise ConfigError(f"model.estimator: unknown estimator {name!r} (known: {', '.join(ESTIMATORS)})") from None
