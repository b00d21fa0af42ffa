"""The metrics each task computes and which way is better: plain data, so config can check a metric when it loads."""

from __future__ import annotations

from modelscale.config.estimators import Task

_AT_THRESHOLD = ["accuracy", "precision", "recall", "f1"]  # from the confusion counts at model.threshold
METRICS: dict[Task, list[str]] = {
    "classification": ["auc_roc", "auc_pr", "log_loss", *_AT_THRESHOLD],
    "regression": ["rmse", "mae", "r2"],
}
LOWER_IS_BETTER = {"log_loss", "rmse", "mae"}
DEFAULT_METRIC: dict[Task, str] = {"classification": "auc_roc", "regression": "rmse"}


def unknown_metric(task: Task, metric: str) -> str | None:
    """Why ``metric`` is not one of ``task``'s metrics; None when it is."""
    if metric in METRICS[task]:
        return None
    return f"{metric!r} is not a {task} metric (one of: {', '.join(METRICS[task])})"
