"""Pipelines from config for every estimator, and bad config failing clearly before any training."""

from __future__ import annotations

import importlib.util

import pytest
from pyspark.ml.feature import OneHotEncoder, StandardScaler, StringIndexer

from modelscale.config import load_config
from modelscale.config.models import PipelineConfig
from modelscale.errors import ConfigError
from modelscale.config.estimators import ESTIMATORS
from modelscale.training.pipeline_builder import build_estimator, feature_pipeline
from modelscale.training.trainer import check_model_config

HAS_XGB = importlib.util.find_spec("xgboost") is not None


def pipeline(name: str = "flights_delay", **model: object) -> PipelineConfig:
    p = load_config("local", name).pipeline
    return p.model_copy(update={"model": p.model.model_copy(update=model)})


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_every_estimator_builds_from_config(home, spark, name: str) -> None:
    if name.startswith("xgboost") and not HAS_XGB:
        pytest.skip("xgboost-cpu not installed")
    spec = ESTIMATORS[name]
    cfg = pipeline("flights_delay" if spec.task == "classification" else "flights_arr_delay",
                   estimator=name, class_weight="balanced" if spec.task == "classification" else "none")
    check_model_config(cfg)
    est = build_estimator(cfg.model, seed=7, weighted=spec.task == "classification")
    assert type(est).__name__.lower().replace("spark", "").startswith(name.split("_")[0][:3])
    assert est.getOrDefault("labelCol") == cfg.model.label
    for key, value in cfg.model.params.get(name, {}).items():
        assert est.getOrDefault(key) == value
    if spec.seed_param:
        assert est.getOrDefault(spec.seed_param) == 7
    if spec.task == "classification":
        assert est.getOrDefault("weightCol") == "class_weight"
    stages = feature_pipeline(cfg.model).getStages()
    indexer = next(s for s in stages if isinstance(s, StringIndexer))
    assert indexer.getHandleInvalid() == "keep" and indexer.getInputCols() == ["carrier", "origin", "dest"]
    assert any(isinstance(s, OneHotEncoder) for s in stages)
    assert isinstance(stages[-1], StandardScaler) == spec.scale


def test_unknown_estimator_is_named(home, spark) -> None:
    with pytest.raises(ConfigError, match=r"model.estimator: unknown estimator 'svm'.*logistic_regression"):
        check_model_config(pipeline(estimator="svm"))


def test_unknown_param_is_named(home, spark) -> None:
    cfg = pipeline(params={"logistic_regression": {"maxIterations": 5}})
    with pytest.raises(ConfigError, match=r"model.params.logistic_regression.maxIterations"):
        check_model_config(cfg)


def test_metric_of_the_wrong_task_is_named(home, spark) -> None:
    p = load_config("local", "flights_arr_delay").pipeline
    bad = p.model_copy(update={"training": p.training.model_copy(update={
        "promotion": p.training.promotion.model_copy(update={"metric": "auc_roc"})})})
    with pytest.raises(ConfigError, match=r"training.promotion.metric: 'auc_roc' is not a regression metric"):
        check_model_config(bad)


def test_missing_column_is_named_before_training(home, spark) -> None:
    from modelscale.training.trainer import train_model

    df = spark.createDataFrame([(1.0, "AA", 3.0)], "label double, carrier string, distance double")
    cfg = pipeline(categorical=["carrier"], numeric=["distance", "plane_age"])
    end = __import__("datetime").date(2013, 1, 8)
    with pytest.raises(ConfigError, match=r"features.date: column\(s\) flight_date not in table 'features'"):
        train_model(df, cfg, end=end)
    keyed = df.selectExpr("DATE'2013-01-08' AS flight_date", "1 AS flight", "'JFK' AS origin",
                          "TIMESTAMP'2013-01-08 10:00:00' AS sched_dep_ts", "*")
    with pytest.raises(ConfigError, match=r"model.numeric: column\(s\) plane_age not in table 'features'"):
        train_model(keyed, cfg, end=end)
