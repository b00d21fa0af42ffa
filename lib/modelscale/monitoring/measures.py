"""Turn drift, performance and segment numbers of one run date into `Measure` rows with thresholds and breaches."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from modelscale.config.modeling import Floor
from modelscale.config.monitoring import PREDICTION, MonitoringConfig
from modelscale.monitoring.drift import psi
from modelscale.monitoring.profile import ColumnProfile
from modelscale.monitoring.reference import ReferenceProfile
from modelscale.monitoring.results import FEATURE_DRIFT, PERFORMANCE, PREDICTION_DRIFT, SLICE, Measure
from modelscale.training.slices import Segment

LABELLED_ROWS = "labelled_rows"


@dataclass(frozen=True)
class Stamp:
    """What every measure of one run date shares."""

    run_date: dt.date
    job_run_id: str
    computed_at: dt.datetime

    def measure(self, **fields: object) -> Measure:
        return Measure(run_date=self.run_date, job_run_id=self.job_run_id, computed_at=self.computed_at,
                       **fields)  # type: ignore[arg-type]


def drift_measures(stamp: Stamp, ref: ReferenceProfile, current: dict[str, ColumnProfile], cfg: MonitoringConfig,
                   model: tuple[str, str]) -> list[Measure]:
    """PSI of each column of ``current`` (features, and the prediction as `PREDICTION`) against its reference;
    breached when above the column's threshold."""
    out = []
    for name, actual in current.items():
        value = psi(ref.column(name).counts, actual.counts, cfg.epsilon) if actual.rows else None
        threshold = cfg.threshold(name)
        out.append(stamp.measure(kind=PREDICTION_DRIFT if name == PREDICTION else FEATURE_DRIFT, feature=name,
                                 metric="psi", value=value, threshold=threshold,
                                 breached=value is not None and value > threshold, evaluated_date=stamp.run_date,
                                 rows=actual.rows, model_name=model[0], model_version=model[1]))
    return out


def performance_measures(stamp: Stamp, day: dt.date, rows: int, metrics: dict[str, float], floors: list[Floor],
                         model: tuple[str, str] | None) -> list[Measure]:
    """The labelled row count, every metric, and one row per floor bound (breached when it is missed)."""
    name, version = model or (None, None)
    base = {"kind": PERFORMANCE, "feature": None, "evaluated_date": day, "rows": rows, "model_name": name,
            "model_version": version}
    out = [stamp.measure(metric=LABELLED_ROWS, value=float(rows), threshold=None, breached=False, **base)]
    bounded = {f.metric for f in floors}
    out += [stamp.measure(metric=m, value=v, threshold=None, breached=False, **base)
            for m, v in metrics.items() if m not in bounded]
    for f in floors:
        value = metrics.get(f.metric)
        for bound, missed in ((f.min, lambda v, b: v < b), (f.max, lambda v, b: v > b)):
            if bound is not None:
                out.append(stamp.measure(metric=f.metric, value=value, threshold=bound,
                                         breached=value is not None and missed(value, bound), **base))
    return out


def slice_measures(stamp: Stamp, day: dt.date, segments: list[Segment], model: tuple[str, str] | None) -> list[Measure]:
    """One row per segment: its audited metric, its bound as threshold when it has the rows to be checked, flagged
    as breached."""
    name, version = model or (None, None)
    return [stamp.measure(kind=SLICE, feature=s.column, segment=s.segment, metric=s.metric, value=s.value,
                          threshold=s.bound if s.checked else None, breached=s.flagged, evaluated_date=day,
                          rows=s.rows, model_name=name, model_version=version) for s in segments]
