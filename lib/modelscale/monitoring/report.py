"""The monitoring report: one self-contained ``index.html`` per pipeline, also logged to MLflow.

The job hands over the monitoring history (at most `MAX_ROWS` rows of the latest `HISTORY_DAYS` run dates reach
the driver), its own measures of the last run date and that date's reference and current bin counts per drift
column (nothing is recomputed here). Charts come from `charts`, the HTML from `page`; images are inline, so the
page reads the same from a file:// URL and in MLflow's artifact view (a sandboxed frame that resolves no
relative link).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from pyspark.sql import functions as F

from modelscale.config.models import Settings
from modelscale.config.monitoring import MonitoringConfig
from modelscale.delta import Lakehouse
from modelscale.logs import get_logger
from modelscale.monitoring.charts import data_uri, distribution_chart, metric_chart, psi_chart, slices_chart
from modelscale.monitoring.measures import LABELLED_ROWS
from modelscale.monitoring.page import Chart, render
from modelscale.monitoring.profile import ColumnProfile
from modelscale.monitoring.results import FEATURE_DRIFT, PERFORMANCE, PREDICTION_DRIFT, SLICE, Measure
from modelscale.tracking.setup import configure
from modelscale.training.slices import Segment

log = get_logger("monitor")
HISTORY_DAYS = 180
MAX_ROWS = 20_000
MONITORING_EXPERIMENT = "monitoring"  # the reports' runs: <prefix>/<pipeline>/monitoring
DRIFT = (FEATURE_DRIFT, PREDICTION_DRIFT)
CSS_DPI = 96  # CSS pixels per inch: an image shown at its figure's size keeps matplotlib's font sizes


@dataclass(frozen=True)
class ReportInput:
    """What the page shows; ``profiles`` maps a drift column to its (reference, current) bin counts on the last
    run date, ``champion`` describes the model the alias points at now, ``monitoring`` is the config the measures
    were taken with."""

    pipeline: str
    champion: str
    history: pd.DataFrame
    latest: list[Measure]
    profiles: dict[str, tuple[ColumnProfile, ColumnProfile]]
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)


def history(lakehouse: Lakehouse, table: str, until: dt.date) -> pd.DataFrame:
    """Monitoring rows of the run dates up to ``until`` (the latest `HISTORY_DAYS`; the newest `MAX_ROWS` rows)."""
    since = until - dt.timedelta(days=HISTORY_DAYS)
    rows = (lakehouse.read(table).where(F.col("run_date").between(F.lit(since), F.lit(until)))
            .select("run_date", "kind", "feature", "metric", "value", "threshold", "breached", "evaluated_date")
            .orderBy(F.desc("run_date")).limit(MAX_ROWS).toPandas())
    return rows.sort_values(["evaluated_date", "kind", "feature", "metric"], ignore_index=True)


def write_report(out_dir: Path, data: ReportInput) -> Path:
    """Write ``<out_dir>/index.html`` (replaced atomically); returns its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "index.html"
    tmp = page.with_suffix(".tmp")
    tmp.write_text(render(data.pipeline, data.champion, data.latest, drift_charts(data), distribution_charts(data),
                          performance_charts(data), slices_charts(data), data.monitoring), encoding="utf-8")
    tmp.replace(page)
    return page


def drift_charts(data: ReportInput) -> list[Chart]:
    """One small PSI chart per drift column of the last run date: the prediction first, then the job's order."""
    rows = data.history[data.history["kind"].isin(DRIFT)]
    dates = sorted(set(rows["evaluated_date"]))
    measures = sorted((m for m in data.latest if m.kind in DRIFT and m.feature is not None),
                      key=lambda m: m.kind != PREDICTION_DRIFT)
    return [_chart(m.feature, psi_chart(m.feature, _by_date(rows[rows["feature"] == m.feature]), m.threshold, dates),
                   f"PSI of {m.feature} per run date", m.breached) for m in measures]


def distribution_charts(data: ReportInput) -> list[Chart]:
    """Reference vs current shares per bin of each drift column breached on the last run date."""
    return [_chart(m.feature, distribution_chart(m.feature, *data.profiles[m.feature],
                                                 f"PSI {m.value:.3f} > threshold {m.threshold:g}"),
                   f"share of rows per bin of {m.feature}: training reference and this batch", True)
            for m in data.latest if m.kind in DRIFT and m.breached and m.feature in data.profiles]


def performance_charts(data: ReportInput) -> list[Chart]:
    """One chart per performance metric that has a value, on its own axes (``labelled_rows`` as a count)."""
    rows = data.history[data.history["kind"] == PERFORMANCE]
    dates = sorted(set(rows["evaluated_date"]))
    latest = [m for m in data.latest if m.kind == PERFORMANCE]
    charts = []
    for metric in dict.fromkeys(m.metric for m in latest):
        points = _by_date(rows[rows["metric"] == metric])
        if points["value"].notna().any():
            bounds = sorted({m.threshold for m in latest if m.metric == metric and m.threshold is not None})
            charts.append(_chart(metric, metric_chart(metric, points, bounds, dates, count=metric == LABELLED_ROWS),
                                 f"{metric} per date", any(m.breached for m in latest if m.metric == metric)))
    return charts


def slices_charts(data: ReportInput) -> list[Chart]:
    """The audited metric per segment of the last run date's outcomes, one panel per slice column (none without
    slices)."""
    segments = segments_of(data.latest)
    if not segments:
        return []
    return [_chart("segments", slices_chart(segments), f"{segments[0].metric} per segment of "
                   f"{', '.join(dict.fromkeys(s.column for s in segments))}", any(s.flagged for s in segments))]


def segments_of(latest: list[Measure]) -> list[Segment]:
    """The `SLICE` rows of ``latest`` as segments, against the performance row of their metric (the overall value)."""
    overall = {m.metric: m.value for m in latest if m.kind == PERFORMANCE}
    return [Segment(column=m.feature or "", segment=m.segment, rows=m.rows, metrics={m.metric: m.value},
                    metric=m.metric, overall=overall.get(m.metric), bound=m.threshold,
                    checked=m.threshold is not None, flagged=m.flagged) for m in latest if m.kind == SLICE]


def log_report(settings: Settings, pipeline: str, page: Path, job_run_id: str, dates: str) -> str | None:
    """Log ``page`` as ``report/index.html`` of a run in ``<pipeline>/monitoring`` so the MLflow UI shows it; returns
    the run id (None, with a warning, when the tracking store fails: the job's outcome stands)."""
    try:
        experiment_id = configure(settings, f"{pipeline}/{MONITORING_EXPERIMENT}")
        client = MlflowClient()
        run = client.create_run(experiment_id, run_name=f"report-{dates}", tags={
            "modelscale.job": "monitor", "modelscale.run_date": dates, "modelscale.job_run_id": job_run_id})
        client.log_artifact(run.info.run_id, str(page), "report")
        client.set_terminated(run.info.run_id)
        return run.info.run_id
    except (MlflowException, OSError) as exc:
        log.warning("could not log the monitoring report to MLflow: %s", exc)
        return None


def _chart(name: str, fig: Figure, alt: str, breached: bool) -> Chart:
    return Chart(name, data_uri(fig), alt, breached, width=round(fig.get_figwidth() * CSS_DPI))


def _by_date(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per evaluated date (the latest run's), in date order."""
    return rows.sort_values(["evaluated_date", "run_date"]).drop_duplicates("evaluated_date", keep="last")
