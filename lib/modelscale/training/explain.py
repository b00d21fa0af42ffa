"""Per-feature weights of a fitted estimator: importances for trees, coefficients for linear models."""

from __future__ import annotations

from pyspark.ml import Model
from pyspark.sql.types import StructField


def slot_names(field: StructField) -> list[str]:
    """Names of the slots of an assembled vector column, from its ML attribute metadata."""
    attrs = field.metadata.get("ml_attr", {}).get("attrs", {})
    slots = sorted((a["idx"], a["name"]) for group in attrs.values() for a in group)
    return [name for _, name in slots]


def feature_weights(model: Model, names: list[str]) -> tuple[str, dict[str, float]]:
    """("importance" | "coefficient", {feature: value}); empty when the model exposes neither."""
    if hasattr(model, "featureImportances"):
        values = model.featureImportances.toArray()
        kind = "importance"
    elif hasattr(model, "coefficients"):
        values = model.coefficients.toArray()
        kind = "coefficient"
    elif hasattr(model, "get_feature_importances"):  # xgboost.spark: {"f<i>": gain}
        raw = model.get_feature_importances(importance_type="gain")
        return "importance", {names[int(k[1:])]: float(v) for k, v in raw.items() if int(k[1:]) < len(names)}
    else:
        return "none", {}
    return kind, {n: float(v) for n, v in zip(names, values, strict=False)}
