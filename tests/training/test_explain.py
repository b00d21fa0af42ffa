"""Feature weights named by feature (not by vector slot) for linear, Spark tree and xgboost models, and xgboost's
per-row contributions adding up to the margin the model predicts; tiny models on two real January days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from features.nycflights import demo_features
from pyspark.ml import PipelineModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from modelscale.caching import persisted, release
from modelscale.config import load_config
from modelscale.config.modeling import ModelConfig
from modelscale.errors import ConfigError
from modelscale.scoring.contributions import BIAS, contributions, explaining
from modelscale.training.explain import FeatureWeights, feature_weights, slots
from modelscale.training.pipeline_builder import assembled_column, build_estimator, feature_pipeline, full_model

SMALL = {"logistic_regression": {"maxIter": 20}, "random_forest_classifier": {"numTrees": 10, "maxDepth": 4},
         "gbt_regressor": {"maxIter": 5, "maxDepth": 3},
         "xgboost_classifier": {"n_estimators": 10, "max_depth": 3, "num_workers": 1},
         "xgboost_regressor": {"n_estimators": 10, "max_depth": 3, "num_workers": 1}}


@pytest.fixture(scope="module")
def rows(spark: SparkSession) -> Iterator[DataFrame]:
    """The flights_delay feature rows of 2013-01-02..03 with both targets known (about 1,700)."""
    df = persisted(demo_features(spark, dt.date(2013, 1, 2), dt.date(2013, 1, 3))
                   .where("label IS NOT NULL AND arr_delay IS NOT NULL")
                   .withColumn("label", F.col("label").cast("double"))
                   .withColumn("arr_delay", F.col("arr_delay").cast("double")))
    yield df
    release(df)


Fitted = Callable[[str], tuple[PipelineModel, FeatureWeights]]


@pytest.fixture(scope="module")
def fitted(rows: DataFrame) -> Fitted:
    """The model of an estimator fitted on ``rows`` and its weights, fitted once per module."""
    models: dict[str, tuple[PipelineModel, FeatureWeights]] = {}

    def get(estimator: str) -> tuple[PipelineModel, FeatureWeights]:
        if estimator not in models:
            models[estimator] = fit(rows, estimator)
        return models[estimator]

    return get


def model_config(estimator: str) -> ModelConfig:
    pipeline = "flights_arr_delay" if estimator.endswith("regressor") else "flights_delay"
    model = load_config("local", pipeline).pipeline.model
    return model.model_copy(update={"estimator": estimator, "params": {estimator: SMALL[estimator]}})


def fit(rows: DataFrame, estimator: str) -> tuple[PipelineModel, FeatureWeights]:
    cfg = model_config(estimator)
    features = feature_pipeline(cfg).fit(rows)
    fitted = build_estimator(cfg, seed=7).fit(features.transform(rows))
    weights = feature_weights(fitted, slots(features.transform(rows.limit(0)).schema[assembled_column(cfg)]))
    assert weights is not None
    return full_model(features, fitted), weights


def expected_names(rows: DataFrame, estimator: str) -> set[str]:
    """Each numeric column, and column=level for each level of a categorical column seen in training, plus its
    bucket of other levels."""
    cfg = model_config(estimator)
    levels = {f"{c}={r[c]}" for c in cfg.categorical for r in rows.select(c).distinct().collect() if r[c] is not None}
    return {*cfg.numeric, *levels, *(f"{c}=(other)" for c in cfg.categorical)}


def by_column(weights: FeatureWeights, columns: list[str]) -> dict[str, float]:
    """|weight| summed over each column's features, from ``by_feature``."""
    return {c: sum(abs(v) for name, v in weights.by_feature.items() if name == c or name.startswith(f"{c}="))
            for c in columns}


def test_linear_coefficients_are_named_by_feature(rows: DataFrame, fitted: Fitted) -> None:
    model, weights = fitted("logistic_regression")
    cfg = model_config("logistic_regression")
    assert weights.kind == "coefficient"
    assert set(weights.by_feature) == expected_names(rows, "logistic_regression")
    names = [s.name for s in slots(model.transform(rows.limit(0)).schema["features_assembled"])]
    assert [weights.by_feature[n] for n in names] == model.stages[-1].coefficients.toArray().tolist()
    assert weights.by_column == pytest.approx(by_column(weights, [*cfg.numeric, *cfg.categorical]))
    assert list(weights.by_column) == sorted(weights.by_column, key=lambda c: -weights.by_column[c])


@pytest.mark.parametrize("estimator", ["random_forest_classifier", "gbt_regressor", "xgboost_classifier"])
def test_tree_importances_are_named_by_feature_and_sum_to_one(rows: DataFrame, fitted: Fitted, estimator: str) -> None:
    model, weights = fitted(estimator)
    cfg = model_config(estimator)
    assert weights.kind == "importance"
    assert set(weights.by_feature) == expected_names(rows, estimator)
    assert sum(weights.by_feature.values()) == pytest.approx(1.0, abs=1e-9)
    assert sum(weights.by_column.values()) == pytest.approx(1.0, abs=1e-9)
    assert weights.by_column == pytest.approx(by_column(weights, [*cfg.numeric, *cfg.categorical]))
    assert min(weights.by_feature.values()) >= 0 and max(weights.by_column.values()) < 1
    names = [s.name for s in slots(model.transform(rows.limit(0)).schema["features"])]
    fitted = model.stages[-1]
    if estimator.startswith("xgboost"):  # the booster's total gain per split feature f<i>, normalised
        gains = fitted.get_booster().get_score(importance_type="total_gain")
        assert {names[int(f[1:])]: g / sum(gains.values()) for f, g in gains.items()} == pytest.approx(
            {n: v for n, v in weights.by_feature.items() if v > 0})
    else:
        assert [weights.by_feature[n] for n in names] == fitted.featureImportances.toArray().tolist()


def margins(model: PipelineModel, rows: DataFrame, margin: F.Column) -> list[tuple[float, float, set[str]]]:
    """(sum of a row's contributions, its ``margin`` as the model predicts it, its contribution keys) per row."""
    explained = explaining(model, "test model")
    out = explained.transform(rows)
    column = contributions(out, explained)
    assert column is not None
    return [(sum(r["c"].values()), r["m"], set(r["c"]))
            for r in out.select(column.alias("c"), margin.alias("m")).collect()]


@pytest.mark.parametrize("estimator", ["xgboost_classifier", "xgboost_regressor"])
def test_xgboost_contributions_add_up_to_the_predicted_margin_row_by_row(rows: DataFrame, fitted: Fitted,
                                                                         estimator: str) -> None:
    """A classifier's margin is the log-odds of its rawPrediction, a regressor's its prediction; each row's map
    holds the bias and names only features the model knows."""
    model, weights = fitted(estimator)
    margin = vector_to_array("rawPrediction")[1] if estimator.endswith("classifier") else F.col("prediction")
    per_row = margins(model, rows, margin)
    assert len(per_row) == rows.count()
    assert [total for total, _, _ in per_row] == pytest.approx([m for _, m, _ in per_row], rel=1e-5, abs=1e-5)
    assert all(BIAS in keys and keys - {BIAS} <= set(weights.by_feature) for _, _, keys in per_row)
    used = {n for n, v in weights.by_feature.items() if v > 0}  # a feature no tree splits on contributes 0
    assert set().union(*(keys for _, _, keys in per_row)) - {BIAS} <= used


def test_contributions_are_refused_for_a_spark_tree_model(fitted: Fitted) -> None:
    model, _ = fitted("random_forest_classifier")
    with pytest.raises(ConfigError, match=r"scoring.contributions: model flights_delay v3 is a "
                                          r"RandomForestClassificationModel, which computes no per-row contributions"):
        explaining(model, "flights_delay v3")
