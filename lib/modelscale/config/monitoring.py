"""Config sections of the scoring and monitoring jobs: ``scoring:`` and ``monitoring:``.

``scoring`` says which registered model version scores (the ``champion`` alias, or a pinned version)
and where predictions go; ``monitoring`` sets the drift bins, each monitored column's PSI threshold (or why it is
excluded) and the run dates it is compared over, the performance floors checked once labels are known, where the
report is written and whether a breach asks for a retraining.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from modelscale.config.base import StrictModel
from modelscale.config.modeling import Floor
from modelscale.config.paths import local_only

PREDICTION = "prediction"  # the name the prediction's distribution is monitored by (thresholds, exclude, windowed)


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


def _refuse_null(value: object) -> object:
    if value is None:
        raise ValueError("a threshold is a number: a feature that should not be monitored goes under "
                         "monitoring.exclude with the reason, e.g. exclude: {dep_month: \"one month per batch: "
                         "measures the calendar\"}")
    return value


def _reason(value: object) -> object:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("an excluded feature needs the reason it is not monitored, as text (e.g. dep_month: "
                         "\"one month per batch: measures the calendar\")")
    return value


Threshold = Annotated[float, BeforeValidator(_refuse_null), Field(gt=0)]
Reason = Annotated[str, BeforeValidator(_reason)]


class MonitoringConfig(StrictModel):
    """Drift (PSI per feature and of the predictions) and performance once labels are known.

    PSI = sum over bins of (a - e) * ln(a / e), with e and a the reference and current shares of a bin,
    each floored at ``epsilon`` so empty bins stay finite. Every model column and the prediction (key
    ``prediction``) is monitored against ``psi_threshold`` or its own entry in ``thresholds``, unless
    ``exclude`` names it with the reason it is not. A column is compared on the run date's scored rows,
    or, when ``windowed`` lists it, on those of the last ``window_run_dates`` run dates (the run date and
    the ones before it, whatever the cadence): for a column narrow within a run date (the weekday, the
    day's weather, a history window) one run date's rows are a sliver of what training saw, and PSI
    against them measures the calendar. Performance is computed for the predictions of ``run date -
    label_delay_days`` (when the outcomes have landed) and checked against ``performance_floors``.
    ``on_breach`` is what a breach is in every launcher (``run pipeline``, ``run monitor``, an Airflow
    task): ``alert`` (the default) logs a warning and the job succeeds (the retraining it asks for is read
    back from the monitoring table), ``fail`` fails the job.
    """

    table: str = "monitoring"
    bins: int = Field(10, ge=2, le=100)
    max_categories: int = Field(30, ge=1, le=500)
    epsilon: float = Field(1e-4, gt=0, lt=0.01)
    psi_threshold: float = Field(0.2, gt=0)
    thresholds: dict[str, Threshold] = Field(default_factory=dict)
    exclude: dict[str, Reason] = Field(default_factory=dict)
    window_run_dates: int = Field(1, ge=1, le=366)
    windowed: list[str] = Field(default_factory=list)
    label_delay_days: int = Field(1, ge=0)
    performance_floors: list[Floor] = Field(default_factory=list)
    report_dir: Annotated[str | None, local_only(
        "the report is a page on this machine, and goes to MLflow's artifacts (mlflow.artifact_location, which may "
        "be object storage)")] = None
    retrain_on_breach: bool = False
    on_breach: Literal["alert", "fail"] = "alert"

    @field_validator("exclude", mode="before")
    @classmethod
    def _a_mapping(cls, value: object) -> object:
        if isinstance(value, list):
            raise ValueError("expected a mapping of each excluded feature to the reason it is not monitored, e.g. "
                             "{dep_month: \"one month per batch: measures the calendar\"}")
        return value

    @model_validator(mode="after")
    def _one_treatment_each(self) -> MonitoringConfig:
        for key, names in (("thresholds", self.thresholds), ("windowed", self.windowed)):
            both = sorted(set(names) & set(self.exclude))
            if both:
                raise ValueError(f"{key}: {', '.join(both)} also excluded (exclude): a feature is either "
                                 "monitored or excluded")
        repeated = sorted({n for n in self.windowed if self.windowed.count(n) > 1})
        if repeated:
            raise ValueError(f"windowed: listed more than once: {', '.join(repeated)}")
        if self.windowed and self.window_run_dates < 2:
            raise ValueError(f"windowed: {', '.join(self.windowed)} compared over a window of "
                             f"window_run_dates={self.window_run_dates}: set window_run_dates to 2 or more")
        if self.window_run_dates > 1 and not self.windowed:
            raise ValueError(f"window_run_dates: {self.window_run_dates} run dates, but windowed lists no column "
                             "to compare over them")
        return self

    def named(self) -> dict[str, list[str]]:
        """The column names each per-column key lists (checked against the model's columns at load)."""
        return {"thresholds": list(self.thresholds), "exclude": list(self.exclude), "windowed": self.windowed}

    def threshold(self, column: str) -> float:
        """The PSI threshold of ``column``: its own, else ``psi_threshold``."""
        return self.thresholds.get(column, self.psi_threshold)

    def window(self, column: str) -> int:
        """How many run dates ``column`` is compared over (1: the run date alone)."""
        return self.window_run_dates if column in self.windowed else 1
