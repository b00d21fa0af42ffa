"""``modelscale run monitor``: drift and performance of the scored model, per run date.

For each run date: PSI of every monitored feature (read at the feature-table version scoring used) and of the
prediction against the reference profile saved with the model that scored it, each over the run date's rows or
the rolling window of run dates ending at it (`batches`); and, once outcomes have landed, training's metrics on
the predictions of ``run date - label_delay_days`` joined to the labels in the feature table, overall and per
segment of ``model.slices`` (a segment worse than the overall metric by more than the gap is flagged: logged and
reported, never an alert). Everything is computed before anything is written; the date's rows of the
``monitoring`` table are then replaced (a rerun does not duplicate them) and the report under
``<MODELSCALE_HOME>/reports/<pipeline>/`` rebuilt (and logged to the ``<pipeline>/monitoring`` experiment). A
breach makes the result not ok with one line per breach, and with ``retrain_on_breach`` asks the
pipeline for a retraining.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from modelscale.config.monitoring import MonitoringConfig
from modelscale.context import JobContext, JobResult, dates_span
from modelscale.errors import ConfigError, TableError
from modelscale.features.inputs import features_config
from modelscale.logs import get_logger, step
from modelscale.monitoring.measures import Stamp, drift_measures, performance_measures, slice_measures
from modelscale.monitoring.performance import performance, with_outcomes
from modelscale.monitoring.batches import current_counts
from modelscale.monitoring.profile import ColumnProfile
from modelscale.monitoring.reference import load_reference
from modelscale.monitoring.report import ReportInput, history, log_report, write_report
from modelscale.monitoring.results import SLICE, Measure, to_frame
from modelscale.scoring.model import find
from modelscale.tracking.setup import configure
from modelscale.config.estimators import estimator_spec
from modelscale.training.evaluation import check_metric

log = get_logger("monitor")
JOB = "monitor"


def report_dir(ctx: JobContext) -> Path:
    """``monitoring.report_dir``, or ``<MODELSCALE_HOME>/reports/<pipeline>``."""
    configured = ctx.pipeline.monitoring.report_dir
    return Path(configured) if configured else ctx.settings.home / "reports" / ctx.pipeline.name


def run(ctx: JobContext) -> JobResult:
    """Monitor every run date; ok=False when a threshold is breached."""
    pipeline, cfg = ctx.pipeline, ctx.pipeline.monitoring
    if pipeline.model is None:
        raise ConfigError(f"pipeline {pipeline.name!r} has no model section (monitoring needs its columns)")
    task = estimator_spec(pipeline.model.estimator).task
    for i, f in enumerate(cfg.performance_floors):
        check_metric(task, f.metric, f"monitoring.performance_floors[{i}].metric")
    ctx.lakehouse.catalog.table(cfg.table)  # declared (ConfigError otherwise)
    if not ctx.lakehouse.exists(pipeline.scoring.table):
        raise TableError(f"table {pipeline.scoring.table!r} does not exist yet: run the score job first")
    configure(ctx.settings, pipeline.name)
    computed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    stamps = [Stamp(day, ctx.run_id, computed_at) for day in ctx.run_dates]
    drift = {s.run_date: _drift(ctx, s) for s in stamps}
    by_day = {s.run_date: drift[s.run_date][0] + _performance(ctx, s) for s in stamps}
    for day, measures in by_day.items():
        with step(log, "record", date=day, rows=len(measures)):
            ctx.lakehouse.overwrite(cfg.table, to_frame(ctx.spark, measures), replace_where=f"run_date = '{day}'",
                                    metadata={"run_id": ctx.run_id, "run_date": str(day)},
                                    skip_unchanged=("job_run_id", "computed_at"), merge_schema=True)
    latest, profiles = by_day[ctx.run_dates[-1]], drift[ctx.run_dates[-1]][1]
    champion = find(pipeline.model.registered_name, pipeline.scoring)
    page = write_report(report_dir(ctx), ReportInput(
        pipeline.name, champion.describe() if champion else "none yet",
        history(ctx.lakehouse, cfg.table, ctx.run_dates[-1]), latest, profiles, cfg))
    report_run = log_report(ctx.settings, pipeline.name, page, ctx.run_id, dates_span(ctx.run_dates))
    breaches = [m for ms in by_day.values() for m in ms if m.alerts]
    flagged = [m for ms in by_day.values() for m in ms if m.flagged]
    for m in breaches:
        log.warning("breach: %s", m.describe())
    for m in flagged:
        log.warning("segment flagged: %s", m.describe())
    return JobResult(JOB, ok=not breaches, message=_message(breaches, page), summary={
        "table": cfg.table, "rows_written": sum(len(ms) for ms in by_day.values()),
        "breaches": [m.describe() for m in breaches], "report": str(page), "report_run_id": report_run,
        "retrain_requested": bool(breaches) and cfg.retrain_on_breach,
        "psi": {m.feature: m.value for m in latest if m.metric == "psi"},
        "performance": {m.metric: m.value for m in latest if m.kind == "performance" and m.value is not None},
        "slices": [{"column": m.feature, "segment": m.segment, "metric": m.metric, "value": m.value, "rows": m.rows,
                    "flagged": m.breached} for m in latest if m.kind == SLICE],
        "slices_flagged": [m.describe() for m in flagged],
    })


def _drift(ctx: JobContext, stamp: Stamp) -> tuple[list[Measure], dict[str, tuple[ColumnProfile, ColumnProfile]]]:
    """PSI of each monitored column over its run dates against the reference profile of the model that scored the
    run date, and the (reference, current) bin counts each was computed from (the report draws those of breached
    columns)."""
    pipeline, lh, features_cfg = ctx.pipeline, ctx.lakehouse, features_config(ctx)
    table = pipeline.scoring.table
    preds = lh.read(table, where=f"{features_cfg.date} = '{stamp.run_date}'")
    lineage = preds.select("model_name", "model_version", "training_run_id", "features_version").limit(1).collect()
    if not lineage:
        raise TableError(f"table {table!r} has no predictions for {stamp.run_date}: run the score job for that date "
                         "first")
    name, version, training_run, features_version = lineage[0]
    with step(log, "drift", date=stamp.run_date, model=f"{name} v{version}") as info:
        ref = load_reference(training_run)
        current = current_counts(
            ref, pipeline.monitoring, stamp.run_date, cadence=pipeline.schedule.cadence, date_column=features_cfg.date,
            features=lambda where: lh.read(features_cfg.table, version=features_version, where=where),
            predictions=lambda where: lh.read(table, where=where))
        measures = drift_measures(stamp, ref, current, pipeline.monitoring, (name, version))
        info["breached"] = sum(m.breached for m in measures)
    return measures, {n: (ref.column(n), counts) for n, counts in current.items()}


def _performance(ctx: JobContext, stamp: Stamp) -> list[Measure]:
    """Training's metrics on the predictions of ``run date - label_delay_days`` whose outcome is known."""
    pipeline, lh = ctx.pipeline, ctx.lakehouse
    cfg: MonitoringConfig = pipeline.monitoring
    assert pipeline.model is not None
    day = stamp.run_date - dt.timedelta(days=cfg.label_delay_days)
    features_cfg = features_config(ctx)
    where = f"{features_cfg.date} = '{day}'"
    with step(log, "performance", date=day) as info:
        preds = lh.read(pipeline.scoring.table, where=where)
        model = preds.select("model_name", "model_version").limit(1).collect()
        slices = pipeline.model.slices
        labelled = with_outcomes(preds, lh.read(features_cfg.table, where=where), pipeline.model.label,
                                 features_cfg.row_key, slices.columns if slices else ())
        rows, metrics, segments = performance(labelled, estimator_spec(pipeline.model.estimator).task,
                                              pipeline.model.label, pipeline.model.threshold, slices)
        info.update(labelled_rows=rows, **{k: round(v, 4) for k, v in metrics.items()},
                    **({"segments_flagged": sum(s.flagged for s in segments)} if slices else {}))
    lineage = (model[0]["model_name"], model[0]["model_version"]) if model else None
    return (performance_measures(stamp, day, rows, metrics, cfg.performance_floors, lineage)
            + slice_measures(stamp, day, segments, lineage))


def _message(breaches: list[Measure], page: Path) -> str:
    if not breaches:
        return ""
    return (f"{len(breaches)} monitoring threshold(s) breached:\n  " + "\n  ".join(m.describe() for m in breaches)
            + f"\nreport: {page}")
