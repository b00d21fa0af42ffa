"""Hyperparameter search on the already-transformed training data (the estimator only).

``grid`` tries every combination of ``search.space``; ``random`` a seeded sample of
``num_samples`` of them. TrainValidationSplit or CrossValidator scores the candidates with
``parallelism`` fits at a time and refits the best on all the training data.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from pyspark.ml import Estimator, Model
from pyspark.ml.evaluation import Evaluator
from pyspark.ml.tuning import CrossValidator, TrainValidationSplit
from pyspark.sql import DataFrame

from modelscale.config.modeling import SearchConfig
from modelscale.errors import ConfigError


@dataclass
class SearchResult:
    """The refitted best model, its params, and every candidate's params and validation metric."""

    model: Model
    best_params: dict[str, Any] = field(default_factory=dict)
    candidates: list[dict[str, Any]] = field(default_factory=list)


def candidates(est: Estimator, cfg: SearchConfig, space: dict[str, list[Any]], seed: int) -> list[dict[str, Any]]:
    """The param combinations to try (names checked against ``est``)."""
    for name in space:
        if not est.hasParam(name):
            raise ConfigError(f"training.search.space: {type(est).__name__} has no param {name!r}")
    names = list(space)
    grid = [dict(zip(names, values, strict=True)) for values in itertools.product(*(space[n] for n in names))]
    if cfg.method == "random" and cfg.num_samples < len(grid):
        return random.Random(seed).sample(grid, cfg.num_samples)
    return grid


def search(est: Estimator, train: DataFrame, cfg: SearchConfig, space: dict[str, list[Any]],
           evaluator: Evaluator, seed: int) -> SearchResult:
    """Fit ``est`` on ``train`` (cached by the caller), searching ``space`` when configured."""
    if cfg.method == "none" or not space:
        return SearchResult(model=est.fit(train))
    combos = candidates(est, cfg, space, seed)
    maps = [{est.getParam(k): v for k, v in c.items()} for c in combos]
    common = {"estimator": est, "estimatorParamMaps": maps, "evaluator": evaluator,
              "parallelism": cfg.parallelism, "seed": seed}
    if cfg.validator == "cross_validator":
        tuner = CrossValidator(numFolds=cfg.num_folds, **common)
        fitted = tuner.fit(train)
        scores = fitted.avgMetrics
    else:
        tuner = TrainValidationSplit(trainRatio=cfg.train_ratio, **common)
        fitted = tuner.fit(train)
        scores = fitted.validationMetrics
    larger = evaluator.isLargerBetter()
    best = max(range(len(scores)), key=lambda i: scores[i] if larger else -scores[i])
    results = [{"params": c, "metric": float(s)} for c, s in zip(combos, scores, strict=True)]
    return SearchResult(model=fitted.bestModel, best_params=combos[best], candidates=results)
