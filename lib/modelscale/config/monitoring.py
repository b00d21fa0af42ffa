"""Config sections of the scoring and monitoring jobs: ``scoring:`` and ``monitoring:``.

``scoring`` says which registered model version scores (the ``champion`` alias, or a pinned version)
and where predictions go; ``monitoring`` sets the drift bins and PSI thresholds, the performance
floors checked once labels are known, where the report is written and whether a breach asks for a
retraining.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from modelscale.config.base import StrictModel
from modelscale.config.modeling import Floor
from modelscale.config.paths import local_only


class ScoringConfig(StrictModel):
    """Which model version scores, and the predictions table (keyed and dated like the feature table).

    ``model_version`` pins a registered version; otherwise the version holding ``model_alias`` is used.
    ``contributions`` adds each row's feature contributions (a map column, `modelscale.scoring.contributions`):
    xgboost estimators only.
    """

    model_alias: str = "champion"
    model_version: str | None = None
    table: str = "predictions"
    contributions: bool = False


class MonitoringConfig(StrictModel):
    """Drift (PSI per feature and of the predictions) and performance once labels are known.

    PSI = sum over bins of (a - e) * ln(a / e), with e and a the reference and current shares of a bin,
    each floored at ``epsilon`` so empty bins stay finite. ``thresholds`` overrides ``psi_threshold``
    per feature (the prediction drift's key is ``prediction``); a null threshold records the PSI without
    ever breaching (for features whose daily distribution is narrow by nature: weekday, weather).
    Performance is computed for the predictions of ``run date - label_delay_days`` (when the outcomes
    have landed) and checked against ``performance_floors``. ``on_breach`` is what a breach is in every
    launcher (``run pipeline``, ``run monitor``, an Airflow task): ``alert`` (the default) logs a warning and the
    job succeeds (the retraining it asks for is read back from the monitoring table), ``fail`` fails the job.
    """

    table: str = "monitoring"
    bins: int = Field(10, ge=2, le=100)
    max_categories: int = Field(30, ge=1, le=500)
    epsilon: float = Field(1e-4, gt=0, lt=0.01)
    psi_threshold: float = Field(0.2, gt=0)
    thresholds: dict[str, float | None] = Field(default_factory=dict)
    label_delay_days: int = Field(1, ge=0)
    performance_floors: list[Floor] = Field(default_factory=list)
    report_dir: Annotated[str | None, local_only(
        "the report is a page on this machine, and goes to MLflow's artifacts (mlflow.artifact_location, which may "
        "be object storage)")] = None
    retrain_on_breach: bool = False
    on_breach: Literal["alert", "fail"] = "alert"

    def threshold(self, feature: str) -> float | None:
        """The PSI threshold of ``feature`` (None: recorded and plotted, never a breach)."""
        return self.thresholds.get(feature, self.psi_threshold)
