"""Turn drift, performance and segment numbers of one run date into `Measure` rows with thresholds and breaches."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from modelscale.config.modeling import Floor
from modelscale.config.monitoring import MonitoringConfig
from modelscale.monitoring.drift import psi
from modelscale.monitoring.profile import ColumnProfile
from modelscale.monitoring.reference import PREDICTION, ReferenceProfile
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


def drift_measures(stamp: Stamp, ref: ReferenceProfile, features: dict[str, ColumnProfile],
                   prediction: ColumnProfile, cfg: MonitoringConfig, model: tuple[str, str]) -> list[Measure]:
    """PSI per feature and of the prediction against the reference; breached when above the threshold."""
    pairs = [(FEATURE_DRIFT, name, ref.features[name], features[name]) for name in ref.features]
    pairs.append((PREDICTION_DRIFT, PREDICTION, ref.prediction, prediction))
    out = []
    for kind, name, expected, actual in pairs:
        value = psi(expected.counts, actual.counts, cfg.epsilon) if actual.rows else None
        threshold = cfg.threshold(name)
        breached = value is not None and threshold is not None and value > threshold
        out.append(stamp.measure(kind=kind, feature=name, metric="psi", value=value, threshold=threshold,
                                 breached=breached, evaluated_date=stamp.run_date, rows=actual.rows,
                                 model_name=model[0], model_version=model[1]))
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
