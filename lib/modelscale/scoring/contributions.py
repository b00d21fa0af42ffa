"""Per-row feature contributions of a tree model's predictions: the opt-in ``contributions`` column.

xgboost computes them (SHAP values, ``pred_contribs``) in the pandas UDF that predicts, on the same feature
matrix, so a row's contributions plus its bias add up to the model's raw margin: the log-odds of the positive
class for a classifier, the prediction for a regressor. The column maps each feature, named as in the training
run's importances (``carrier=UA``, ``dep_hour``), to its contribution, and `BIAS` to the bias; features
contributing exactly 0 are left out. Spark MLlib's random forests and GBTs compute no per-row contributions:
``scoring.contributions`` is refused for them (`modelscale.config.estimators.EstimatorSpec.contributions`).
"""

from __future__ import annotations

from pyspark.ml import PipelineModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType

from modelscale.errors import ConfigError
from modelscale.training.explain import slots

CONTRIBUTIONS = "contributions"  # the predictions column: map<string, double>
BIAS = "(bias)"  # its key for the bias term (the expected margin)
_RAW = "__contributions"  # the estimator's output: one value per feature slot, then the bias


def explaining(model: PipelineModel, described: str) -> PipelineModel:
    """``model`` with its estimator also computing contributions (a copy); a `ConfigError` naming
    ``scoring.contributions`` when the estimator cannot (``described`` names the model version)."""
    estimator = model.stages[-1]
    if not estimator.hasParam("pred_contrib_col"):
        raise ConfigError(f"scoring.contributions: model {described} is a {type(estimator).__name__}, which computes "
                          "no per-row contributions (only xgboost models do): score with an xgboost model version "
                          "or set scoring.contributions: false")
    explained = estimator.copy({estimator.getParam("pred_contrib_col"): _RAW})
    return PipelineModel(stages=[*model.stages[:-1], explained])


def contributions(scored: DataFrame, model: PipelineModel) -> Column | None:
    """The contributions column of ``scored`` (the output of an `explaining` model), None when it has none."""
    if _RAW not in scored.columns:
        return None
    vector = slots(scored.schema[model.stages[-1].getOrDefault("featuresCol")])
    keys = F.array(*[F.lit(s.name) for s in vector], F.lit(BIAS))
    raw = F.col(_RAW)
    # a classifier's are one array per class group (one for a binary label); a regressor's a vector
    values = raw[0] if isinstance(scored.schema[_RAW].dataType, ArrayType) else vector_to_array(raw)
    return F.map_filter(F.map_from_arrays(keys, values), lambda _, v: v != 0).alias(CONTRIBUTIONS)
