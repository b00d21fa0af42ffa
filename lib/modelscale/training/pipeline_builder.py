"""The Spark ML pipeline from the ``model`` config: feature stages, then the estimator.

Feature stages: median Imputer for numeric columns, StringIndexer(handleInvalid="keep") and
OneHotEncoder for categorical ones, a VectorAssembler, and a StandardScaler for estimators that
need scaled inputs. They are a separate Pipeline so training fits them once and tunes only the
estimator on their cached output; the logged model is both, joined into one PipelineModel.
"""

from __future__ import annotations

from typing import Any

from pyspark.ml import Estimator, Pipeline, PipelineModel, Transformer
from pyspark.ml.feature import Imputer, OneHotEncoder, StandardScaler, StringIndexer, VectorAssembler

from modelscale.config.modeling import ModelConfig
from modelscale.errors import ConfigError
from modelscale.config.estimators import ESTIMATORS, estimator_spec

FEATURES = "features"
ASSEMBLED = "features_assembled"
WEIGHT = "class_weight"
IMPUTED = "__imputed"  # suffix of a numeric column's imputed copy
ONEHOT = "__onehot"  # suffix of a categorical column's one-hot vector (its slots: <column>__onehot_<level>)


def assembled_column(cfg: ModelConfig) -> str:
    """The assembler's output column (it carries the per-slot feature names in its metadata)."""
    return ASSEMBLED if estimator_spec(cfg.estimator).scale else FEATURES


def feature_pipeline(cfg: ModelConfig) -> Pipeline:
    """Imputation, indexing, one-hot encoding, assembly (and scaling) of the configured columns."""
    stages: list[Any] = []
    inputs: list[str] = []
    if cfg.numeric:
        imputed = [f"{c}{IMPUTED}" for c in cfg.numeric]
        stages.append(Imputer(inputCols=cfg.numeric, outputCols=imputed, strategy="median"))
        inputs += imputed
    if cfg.categorical:
        indexed = [f"{c}__index" for c in cfg.categorical]
        encoded = [f"{c}{ONEHOT}" for c in cfg.categorical]
        stages.append(StringIndexer(inputCols=cfg.categorical, outputCols=indexed, handleInvalid="keep",
                                    stringOrderType="frequencyDesc"))
        stages.append(OneHotEncoder(inputCols=indexed, outputCols=encoded, handleInvalid="keep"))
        inputs += encoded
    stages.append(VectorAssembler(inputCols=inputs, outputCol=assembled_column(cfg)))
    if estimator_spec(cfg.estimator).scale:
        stages.append(StandardScaler(inputCol=ASSEMBLED, outputCol=FEATURES, withMean=False, withStd=True))
    return Pipeline(stages=stages)


def build_estimator(cfg: ModelConfig, seed: int, *, weighted: bool = False) -> Estimator:
    """The configured estimator with its params, label, seed and (optionally) weight column."""
    spec = estimator_spec(cfg.estimator)
    est = spec.create()
    fixed: dict[str, Any] = {"labelCol": cfg.label}
    if spec.seed_param:
        fixed[spec.seed_param] = seed
    if weighted:
        fixed["weightCol"] = WEIGHT
    unknown_estimators = sorted(set(cfg.params) - set(ESTIMATORS))
    if unknown_estimators:
        raise ConfigError(f"model.params: unknown estimator(s) {', '.join(unknown_estimators)}")
    return set_params(est, {**cfg.params.get(cfg.estimator, {}), **fixed}, key=f"model.params.{cfg.estimator}")


def set_params(est: Estimator, params: dict[str, Any], *, key: str) -> Estimator:
    """Set Spark ML params by name; an unknown name is a config error naming ``key``."""
    for name, value in params.items():
        if not est.hasParam(name):
            raise ConfigError(f"{key}.{name}: {type(est).__name__} has no param {name!r}")
        est.set(est.getParam(name), value)
    return est


def full_model(feature_model: PipelineModel, estimator_model: Transformer) -> PipelineModel:
    """One PipelineModel from raw feature columns to predictions (what is logged and scored)."""
    return PipelineModel(stages=[*feature_model.stages, estimator_model])
