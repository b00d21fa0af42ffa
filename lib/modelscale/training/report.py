"""Log a trained model to the active MLflow run: params, metrics, search, figures, the model."""

from __future__ import annotations

import importlib.metadata
import re
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo

from modelscale.config.models import PipelineConfig
from modelscale.monitoring.charts import slices_chart
from modelscale.secrets import redact
from modelscale.tracking import spark_models
from modelscale.training import plots
from modelscale.config.estimators import estimator_spec
from modelscale.training.evaluation import calibration_bins, confusion, curve_points
from modelscale.training.slices import Segment
from modelscale.training.trainer import TrainOutcome

CONFIG_ARTIFACT = "config/pipeline.json"
SLICES_ARTIFACT = "slices/segments.json"
SAMPLE_ROWS = 2000  # bounded sample for the predicted-vs-actual plot
IMPORTANCE_FIGURE = "feature_importance.png"  # under figures/, for every estimator (importances or coefficients)
IMPORTANCE_ARTIFACT = "feature_importance.json"  # its numbers: kind, by_feature, by_column


def log_config(cfg: PipelineConfig) -> None:
    """The resolved pipeline config as an artifact (what --reproduce reloads) and its model/training keys as params,
    secrets redacted (a reproduced run sees ``***`` for them: training reads none)."""
    mlflow.log_dict(redact(cfg.model_dump(mode="json")), CONFIG_ARTIFACT)
    assert cfg.model is not None
    params: dict[str, Any] = {"estimator": cfg.model.estimator, "label": cfg.model.label,
                              "class_weight": cfg.model.class_weight, "threshold": cfg.model.threshold,
                              "categorical": ",".join(cfg.model.categorical), "numeric": ",".join(cfg.model.numeric)}
    params |= {f"model.params.{k}": v for k, v in cfg.model.params.get(cfg.model.estimator, {}).items()}
    params |= _flatten(cfg.training.model_dump(mode="json", exclude={"search": {"space"}}), "training")
    mlflow.log_params(redact(params))


def log_outcome(outcome: TrainOutcome, cfg: PipelineConfig, dfs_tmpdir: str) -> ModelInfo:
    """Metrics, search candidates (child runs), figures and the model (staged in ``dfs_tmpdir``: see
    `spark_models`); returns the logged model's info."""
    assert cfg.model is not None
    model_cfg = cfg.model
    mlflow.log_metrics({f"test_{k}": v for k, v in outcome.metrics.items()})
    mlflow.log_metrics({f"val_{k}": v for k, v in outcome.validation_metrics.items()})
    mlflow.log_metrics({f"rows_{k}": v for k, v in outcome.rows.items()})
    mlflow.log_params({f"best.{k}": v for k, v in outcome.search.best_params.items()})
    mlflow.log_dict({"window": {k: [str(d) for d in getattr(outcome.window, k)] for k in ("train", "validation", "test")}},
                    "window.json")
    _log_search(outcome)
    _log_slices(outcome.slices)
    _log_figures(outcome, model_cfg.label, model_cfg.threshold, estimator_spec(model_cfg.estimator).task)
    cols = [*model_cfg.categorical, *model_cfg.numeric]
    sample = outcome.test_predictions.select(*cols, "prediction").limit(5).toPandas()
    return spark_models.log_model(
        outcome.model, dfs_tmpdir, signature=infer_signature(sample[cols], sample[["prediction"]]),
        input_example=sample[cols], pip_requirements=pip_requirements(estimator_spec(model_cfg.estimator).extra),
    )


def pip_requirements(extra: str | None) -> list[str]:
    """The packages the model needs, pinned to the versions that trained it.

    Given explicitly: otherwise MLflow infers them by reloading the model in a subprocess that
    starts its own Spark, which costs more than the rest of the logging together.
    """
    return [f"{name}=={importlib.metadata.version(name)}" for name in ("pyspark", "mlflow", *([extra] if extra else []))]


def _log_search(outcome: TrainOutcome) -> None:
    if not outcome.search.candidates:
        return
    mlflow.log_dict({"best": outcome.search.best_params, "candidates": outcome.search.candidates},
                    "search/candidates.json")
    for i, cand in enumerate(outcome.search.candidates):
        with mlflow.start_run(run_name=f"candidate-{i}", nested=True):
            mlflow.log_params(cand["params"])
            mlflow.log_metric("validation_metric", cand["metric"])


def _log_figures(outcome: TrainOutcome, label: str, threshold: float, task: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        pred = outcome.test_predictions
        if task == "classification":
            points = curve_points(pred, label)
            plots.roc_curve(points, outcome.metrics["auc_roc"], out / "roc_curve.png")
            plots.pr_curve(points, outcome.metrics["auc_pr"], out / "pr_curve.png")
            plots.confusion_matrix(confusion(pred, label, threshold), threshold, out / "confusion_matrix.png")
            calibration = calibration_bins(pred, label)
            plots.calibration_curve(calibration, out / "calibration_curve.png")
            mlflow.log_dict({"points": points}, "curves/roc_pr_points.json")
            mlflow.log_dict({"bins": calibration}, "curves/calibration.json")
        else:
            sample = pred.select(label, "prediction").sample(fraction=min(1.0, SAMPLE_ROWS / max(outcome.rows["test"], 1)),
                                                             seed=0).limit(SAMPLE_ROWS).toPandas()
            plots.predicted_vs_actual(sample[label].tolist(), sample["prediction"].tolist(), out / "predicted_vs_actual.png")
        if outcome.slices:
            slices_chart(outcome.slices).savefig(out / "slices.png", dpi=100)
        if outcome.weights is not None:
            plots.feature_weights(outcome.weights, out / IMPORTANCE_FIGURE)
            mlflow.log_dict(outcome.weights.as_dict(), IMPORTANCE_ARTIFACT)
        mlflow.log_artifacts(str(out), "figures")


def _log_slices(segments: list[Segment]) -> None:
    """The segments of the test split as a table artifact (`SLICES_ARTIFACT`, one row per segment: rows, every
    metric, the audited one's overall value and bound, checked and flagged), the audited metric of each as
    ``slice/<metric>/<column>/<segment>`` and the number flagged as ``slice/flagged``."""
    if not segments:
        return
    mlflow.log_table(pd.DataFrame([{"column": s.column, "segment": s.segment, "rows": s.rows, "metric": s.metric,
                                    "value": s.value, "overall": s.overall, "bound": s.bound, "checked": s.checked,
                                    "flagged": s.flagged, **s.metrics} for s in segments]), SLICES_ARTIFACT)
    mlflow.log_metrics({slice_metric_name(s): s.value for s in segments if s.value is not None})
    mlflow.log_metric("slice/flagged", sum(s.flagged for s in segments))


def slice_metric_name(segment: Segment) -> str:
    """``slice/auc_roc/carrier/UA``: a segment's value made a valid MLflow metric name (other characters as ``_``)."""
    text = "null" if segment.segment is None else segment.segment
    safe = re.sub(r"[^\w.\- ]", "_", text).strip(" ")
    return f"slice/{segment.metric}/{segment.column}/{safe if safe.strip('.') else '_'}"


def _flatten(data: dict[str, Any], prefix: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}.{k}"
        if isinstance(v, dict):
            flat |= _flatten(v, key)
        else:
            flat[key] = v
    return flat
