"""Per-feature weights of a fitted estimator, named by feature rather than by vector slot.

Trees give importances (Spark's ``featureImportances``; for xgboost the booster's total gain, normalised the
same way: both sum to 1), linear models their coefficients (on the scaled inputs the model saw). A one-hot
slot is named ``column=level`` (``carrier=UA``; ``column=(other)`` for the bucket of levels unseen in training
and nulls), a numeric one by its column; `FeatureWeights.by_column` adds the slots of a column back together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyspark.ml import Model
from pyspark.sql.types import StructField

from modelscale.training.pipeline_builder import IMPUTED, ONEHOT

UNKNOWN_LEVEL = "__unknown"  # the slot OneHotEncoder(handleInvalid="keep") names for unseen levels and nulls
XGB_IMPORTANCE = "total_gain"  # like Spark's importances a sum over splits; "gain" is a mean per split

WeightKind = Literal["importance", "coefficient"]


@dataclass(frozen=True)
class Slot:
    """One slot of the assembled feature vector: the source column and the feature's display name."""

    column: str
    name: str


@dataclass(frozen=True)
class FeatureWeights:
    """A model's weight per feature (``by_feature``, one per slot) and per source column (``by_column``: the
    sum of its slots' absolute values), each sorted by absolute value, largest first."""

    kind: WeightKind
    by_feature: dict[str, float]
    by_column: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "by_feature": self.by_feature, "by_column": self.by_column}


def slots(field: StructField) -> list[Slot]:
    """The slots of an assembled vector column, in vector order, from its ML attribute metadata."""
    attrs = field.metadata.get("ml_attr", {}).get("attrs", {})
    return [slot(name) for _, name in sorted((a["idx"], a["name"]) for group in attrs.values() for a in group)]


def slot(assembled_name: str) -> Slot:
    """The feature behind an assembler slot name (``carrier__onehot_UA``, ``dep_hour__imputed``)."""
    column, onehot, level = assembled_name.partition(f"{ONEHOT}_")
    if onehot:
        return Slot(column, f"{column}={'(other)' if level == UNKNOWN_LEVEL else level}")
    column = assembled_name.removesuffix(IMPUTED)
    return Slot(column, column)


def feature_weights(model: Model, vector: list[Slot]) -> FeatureWeights | None:
    """The weights of ``model`` (the fitted estimator, not the pipeline) over the slots of its input vector;
    None for a model that exposes none."""
    if hasattr(model, "featureImportances"):
        return _weights("importance", vector, model.featureImportances.toArray().tolist())
    if hasattr(model, "coefficients"):
        return _weights("coefficient", vector, model.coefficients.toArray().tolist())
    if hasattr(model, "get_booster"):  # xgboost.spark: {"f<i>": total gain}, features never split on absent
        gains = model.get_booster().get_score(importance_type=XGB_IMPORTANCE)
        total = sum(gains.values()) or 1.0
        return _weights("importance", vector, [gains.get(f"f{i}", 0.0) / total for i in range(len(vector))])
    return None


def _weights(kind: WeightKind, vector: list[Slot], values: list[float]) -> FeatureWeights:
    by_feature: dict[str, float] = {}
    by_column: dict[str, float] = {}
    for s, value in zip(vector, values, strict=True):
        by_feature[s.name] = float(value)
        by_column[s.column] = by_column.get(s.column, 0.0) + abs(float(value))
    return FeatureWeights(kind, _ranked(by_feature), _ranked(by_column))


def _ranked(values: dict[str, float]) -> dict[str, float]:
    return dict(sorted(values.items(), key=lambda kv: abs(kv[1]), reverse=True))
