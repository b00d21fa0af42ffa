"""PNG figures for a person looking at a run: curves, calibration, confusion matrix, feature weights, residuals.

Every function takes small, already-aggregated data (curve points, counts, one value per feature,
a bounded sample) and writes one PNG with matplotlib's Agg backend.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from modelscale.training.explain import FeatureWeights  # noqa: E402


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def roc_curve(points: list[dict[str, float]], auc: float, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([p["fpr"] for p in points], [p["tpr"] for p in points], label=f"AUC {auc:.3f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test split)")
    ax.legend(loc="lower right")
    return _save(fig, path)


def pr_curve(points: list[dict[str, float]], auc_pr: float, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([p["tpr"] for p in points], [p["precision"] for p in points], label=f"AUC-PR {auc_pr:.3f}")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (test split)", ylim=(0, 1.02))
    ax.legend(loc="upper right")
    return _save(fig, path)


def calibration_curve(bins: list[dict[str, float]], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="calibrated")
    ax.plot([b["score"] for b in bins], [b["positive_rate"] for b in bins], marker="o", label="model")
    ax.set(xlabel="mean predicted probability", ylabel="share of positives", title="Calibration (test split)",
           xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left")
    return _save(fig, path)


def confusion_matrix(counts: dict[str, int], threshold: float, path: Path) -> Path:
    cells = [[counts["tn"], counts["fp"]], [counts["fn"], counts["tp"]]]
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(cells, cmap="Blues")
    for i in range(2):
        for j in range(2):
            ax.text(j, i, f"{cells[i][j]:,}", ha="center", va="center")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["pred 0", "pred 1"], yticklabels=["true 0", "true 1"],
           title=f"Confusion at threshold {threshold:g}")
    return _save(fig, path)


def feature_weights(weights: FeatureWeights, path: Path, top: int = 25) -> Path:
    """Two bar charts: the ``top`` features (one-hot levels apart, signed for coefficients) and every source
    column (its levels summed)."""
    by_feature = list(weights.by_feature.items())[:top][::-1]
    by_column = list(weights.by_column.items())[:top][::-1]
    rows = max(len(by_feature), len(by_column))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.25 * rows + 1.5))
    left.barh([k for k, _ in by_feature], [v for _, v in by_feature])
    shown = f" (top {top} of {len(weights.by_feature)})" if len(weights.by_feature) > top else ""
    left.set(title=f"{weights.kind} by feature{shown}")
    if weights.kind == "coefficient":  # of the scaled inputs: per standard deviation of each feature
        left.axvline(0, color="grey", linewidth=0.8)
        left.set(xlabel="coefficient per standard deviation")
    right.barh([k for k, _ in by_column], [v for _, v in by_column], color="tab:orange")
    right.set(title=f"{weights.kind} by column", xlabel="sum of |coefficient|" if weights.kind == "coefficient"
              else "sum of its features' importances")
    for ax in (left, right):
        ax.tick_params(axis="y", labelsize=7)
    return _save(fig, path)


def predicted_vs_actual(actual: list[float], predicted: list[float], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(actual, predicted, s=4, alpha=0.4)
    lo, hi = min(actual + predicted, default=0), max(actual + predicted, default=1)
    ax.plot([lo, hi], [lo, hi], linestyle="--", color="grey")
    ax.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual (test sample)")
    return _save(fig, path)
