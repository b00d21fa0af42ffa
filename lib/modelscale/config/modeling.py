"""Config sections of the training job: ``model:`` and ``training:``.

``model`` is the Spark ML pipeline (columns, estimator, its params); ``training`` is the window, the
time-based split, the hyperparameter search and the promotion rule.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from modelscale.config.base import StrictModel
from modelscale.config.estimators import ESTIMATORS
from modelscale.config.metrics import LOWER_IS_BETTER, unknown_metric

SearchValue = int | float | str | bool


class SlicesConfig(StrictModel):
    """A fairness audit: the model's metrics per segment (each value) of each of ``columns``, with the segment's row
    count, on training's test split and on each labelled batch monitoring evaluates.

    A segment of at least ``min_rows`` rows is flagged when its ``metric`` is more than ``max_gap`` worse than the
    overall one (below it, or above it for a metric where lower is better: log_loss, rmse, mae); smaller segments
    are reported with their count, never flagged. Per column the ``max_segments`` largest segments are reported.
    """

    columns: list[str] = Field(min_length=1)
    metric: str
    max_gap: float = Field(gt=0)
    min_rows: int = Field(50, ge=1)
    max_segments: int = Field(50, ge=1, le=500)

    @field_validator("columns")
    @classmethod
    def _distinct(cls, columns: list[str]) -> list[str]:
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if repeated:
            raise ValueError(f"columns listed more than once: {', '.join(repeated)}")
        return columns

    def flagged(self, value: float | None, overall: float | None, rows: int) -> bool:
        """Whether a segment's ``value`` over ``rows`` rows is more than ``max_gap`` worse than ``overall``."""
        bound = self.bound(overall)
        if value is None or bound is None or rows < self.min_rows:
            return False
        return value > bound if self.metric in LOWER_IS_BETTER else value < bound

    def bound(self, overall: float | None) -> float | None:
        """The worst value a segment may have: ``overall`` minus ``max_gap`` (plus, where lower is better)."""
        if overall is None:
            return None
        return overall + self.max_gap if self.metric in LOWER_IS_BETTER else overall - self.max_gap


class ModelConfig(StrictModel):
    """The Spark ML pipeline: label, feature columns, estimator and its params.

    ``estimator`` is one of `modelscale.config.estimators.ESTIMATORS`; ``params`` maps estimator
    names to their Spark ML params (e.g. ``logistic_regression: {maxIter: 50}``), so a pipeline that
    ``extends`` another switches estimator without inheriting params that do not apply; only the
    chosen estimator's entry is used. ``class_weight: balanced`` adds a weight column so both
    classes weigh the same in training. ``slices`` audits the model per segment (`SlicesConfig`).
    """

    registered_name: str
    estimator: str = "logistic_regression"
    label: str = "label"
    categorical: list[str] = Field(default_factory=list)
    numeric: list[str] = Field(default_factory=list)
    params: dict[str, dict[str, SearchValue]] = Field(default_factory=dict)
    class_weight: Literal["none", "balanced"] = "none"
    threshold: float = Field(0.5, gt=0, lt=1)
    slices: SlicesConfig | None = None

    @field_validator("estimator")
    @classmethod
    def _known_estimator(cls, name: str) -> str:
        if name not in ESTIMATORS:
            raise ValueError(f"unknown estimator {name!r} (known: {', '.join(ESTIMATORS)})")
        return name

    @model_validator(mode="after")
    def _has_features(self) -> ModelConfig:
        if not (self.categorical or self.numeric):
            raise ValueError("model needs at least one column under categorical or numeric")
        both = sorted(set(self.categorical) & set(self.numeric))
        if both:
            raise ValueError(f"columns listed as both categorical and numeric: {', '.join(both)}")
        return self

    @model_validator(mode="after")
    def _slices_fit_the_model(self) -> ModelConfig:
        if self.slices is None:
            return self
        problem = unknown_metric(ESTIMATORS[self.estimator].task, self.slices.metric)
        if problem:
            raise ValueError(f"slices.metric: {problem}")
        if self.label in self.slices.columns:
            raise ValueError(f"slices.columns: {self.label!r} is the label; a segment is a value of another column")
        return self


class SplitConfig(StrictModel):
    """The training window ends at the run date: the last ``test_days`` are the test split, the
    ``validation_days`` before them the validation split, the rest of ``window_days`` training.
    Training waits (warm-up) until the training split holds labelled rows of ``min_train_days`` dates."""

    window_days: int = Field(28, ge=3)
    validation_days: int = Field(3, ge=1)
    test_days: int = Field(4, ge=1)
    min_train_days: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _leaves_training_days(self) -> SplitConfig:
        train_days = self.window_days - self.validation_days - self.test_days
        if train_days < 1:
            raise ValueError("validation_days + test_days must be smaller than window_days")
        if self.min_train_days > train_days:
            raise ValueError(f"min_train_days ({self.min_train_days}) exceeds the {train_days} days the training "
                             "split of window_days holds")
        return self


class SearchConfig(StrictModel):
    """Hyperparameter search on the training split; ``space`` maps estimator names to
    {param: candidate values}, and only the chosen estimator's entry is searched."""

    method: Literal["none", "grid", "random"] = "none"
    validator: Literal["train_validation_split", "cross_validator"] = "train_validation_split"
    metric: str | None = None
    num_folds: int = Field(3, ge=2)
    train_ratio: float = Field(0.75, gt=0, lt=1)
    num_samples: int = Field(4, ge=1)
    parallelism: int = Field(2, ge=1)
    space: dict[str, dict[str, list[SearchValue]]] = Field(default_factory=dict)


class Floor(StrictModel):
    """An absolute bound a model must meet on the test split: ``min`` and/or ``max`` of ``metric``."""

    metric: str
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _has_bound(self) -> Floor:
        if self.min is None and self.max is None:
            raise ValueError(f"floor on {self.metric} needs min or max")
        return self


class PromotionConfig(StrictModel):
    """The challenger becomes champion when ``metric`` beats the champion's by ``min_improvement``
    (both scored on the same test data) and it meets every floor. A list, so a pipeline that
    ``extends`` another replaces the floors rather than inheriting metrics of another task."""

    metric: str | None = None
    min_improvement: float = Field(0.0, ge=0)
    floors: list[Floor] = Field(default_factory=list)


class TrainingConfig(StrictModel):
    """Window, split, search, promotion and the seed used by every random step."""

    seed: int = 42
    split: SplitConfig = Field(default_factory=SplitConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)
