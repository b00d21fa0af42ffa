"""Train one model from a feature DataFrame: split by date, fit the feature stages once, search the
estimator on their cached output, evaluate on the held-out splits. No MLflow here (see report.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from modelscale.caching import persisted, release
from modelscale.config.models import PipelineConfig
from modelscale.errors import ConfigError, InputDataError
from modelscale.features.columns import require_columns, require_row_key
from modelscale.logs import get_logger, step
from modelscale.config.metrics import DEFAULT_METRIC
from modelscale.training.evaluation import check_metric, evaluate, evaluator
from modelscale.training.explain import FeatureWeights, feature_weights, slots
from modelscale.training.slices import Segment, audit
from modelscale.training.pipeline_builder import (
    FEATURES,
    WEIGHT,
    assembled_column,
    build_estimator,
    feature_pipeline,
    full_model,
)
from modelscale.config.estimators import estimator_spec
from modelscale.training.splits import Splits, Window, split_by_date, window, with_class_weights
from modelscale.training.tuning import SearchResult, search

log = get_logger("training")


@dataclass
class TrainOutcome:
    """A trained model and everything needed to judge and log it.

    ``test_predictions`` is cached: call `release` when done with it.
    """

    model: PipelineModel
    window: Window
    splits: Splits
    rows: dict[str, int]
    metrics: dict[str, float]
    validation_metrics: dict[str, float]
    search: SearchResult
    test_predictions: DataFrame
    weights: FeatureWeights | None = None
    slices: list[Segment] = field(default_factory=list)

    def release(self) -> None:
        release(self.test_predictions)


def check_model_config(cfg: PipelineConfig) -> None:
    """Every model/training key that can be checked without data (estimator, params, metrics)."""
    model = cfg.model
    if model is None:
        raise ConfigError(f"pipeline {cfg.name!r} has no model section")
    spec = estimator_spec(model.estimator)
    build_estimator(model, cfg.training.seed)
    if model.class_weight == "balanced" and spec.task != "classification":
        raise ConfigError("model.class_weight: balanced applies to classification estimators only")
    if cfg.training.search.metric:
        check_metric(spec.task, cfg.training.search.metric, "training.search.metric")
    if cfg.training.promotion.metric:
        check_metric(spec.task, cfg.training.promotion.metric, "training.promotion.metric")
    for i, f in enumerate(cfg.training.promotion.floors):
        check_metric(spec.task, f.metric, f"training.promotion.floors[{i}].metric")


def train_model(features: DataFrame, cfg: PipelineConfig, end: dt.date, *, table: str = "features") -> TrainOutcome:
    """Train ``cfg.model`` on the rows of ``features`` in the window ending at ``end``."""
    check_model_config(cfg)
    model, training, features_cfg = cfg.model, cfg.training, cfg.features
    assert model is not None
    if features_cfg is None:
        raise ConfigError(f"pipeline {cfg.name!r} has no features section (training reads its table)")
    spec = estimator_spec(model.estimator)
    require_row_key(features, features_cfg, table=table)
    require_columns(features, [model.label], table=table, key="model.label")
    require_columns(features, model.categorical, table=table, key="model.categorical")
    require_columns(features, model.numeric, table=table, key="model.numeric")
    w = window(end, training.split)
    labelled = _stable(features.where(F.col(model.label).isNotNull())
                       .withColumn(model.label, F.col(model.label).cast("double")), features_cfg.row_key)
    splits = split_by_date(labelled, w, features_cfg.date)
    if model.class_weight == "balanced":
        splits = Splits(with_class_weights(splits.train, model.label, WEIGHT), splits.validation, splits.test)
    metric = training.search.metric or DEFAULT_METRIC[spec.task]

    with step(log, "fit feature stages", estimator=model.estimator) as info:
        feature_model = feature_pipeline(model).fit(splits.train)
        keep = [FEATURES, model.label, *([WEIGHT] if model.class_weight == "balanced" else [])]
        prepared = persisted(feature_model.transform(splits.train).select(*keep))
        train_rows = info["train_rows"] = prepared.count()
    if train_rows == 0:
        release(prepared)
        raise InputDataError(f"no labelled rows in {table!r} for the training split {w.train[0]}..{w.train[1]}")
    try:
        with step(log, "search", method=training.search.method) as info:
            est = build_estimator(model, training.seed, weighted=model.class_weight == "balanced")
            result = search(est, prepared, training.search, training.search.space.get(model.estimator, {}),
                            evaluator(spec.task, metric, model.label), training.seed)
            info["candidates"] = len(result.candidates)
    finally:
        release(prepared)

    full = full_model(feature_model, result.model)
    with step(log, "evaluate") as info:
        test_pred = persisted(full.transform(splits.test))
        rows = {"train": train_rows, "validation": splits.validation.count(), "test": test_pred.count()}
        if rows["test"] == 0:
            release(test_pred)
            raise InputDataError(f"no labelled rows in {table!r} for the test split {w.test[0]}..{w.test[1]}")
        metrics = evaluate(test_pred, spec.task, model.label, model.threshold)
        val_metrics = evaluate(full.transform(splits.validation), spec.task, model.label, model.threshold) \
            if rows["validation"] else {}
        info.update(rows)
    slices: list[Segment] = []
    if model.slices is not None:
        with step(log, "slices", columns=",".join(model.slices.columns)) as info:
            slices = audit(test_pred, model.slices, spec.task, model.label, model.threshold, metrics)
            info.update(segments=len(slices), flagged=sum(s.flagged for s in slices))
    vector = slots(feature_model.transform(splits.train.limit(0)).schema[assembled_column(model)])
    return TrainOutcome(model=full, window=w, splits=splits, rows=rows, metrics=metrics,
                        validation_metrics=val_metrics, search=result, test_predictions=test_pred,
                        weights=feature_weights(result.model, vector), slices=slices)


def _stable(df: DataFrame, key: list[str]) -> DataFrame:
    """Rows hash-partitioned and sorted by their key, so seeded random splits and fits see the same
    partitions whatever order the table's files are read in (what makes --reproduce exact)."""
    return df.repartition(*key).sortWithinPartitions(*key)
