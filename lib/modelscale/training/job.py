"""``modelscale run train``: train, log to MLflow, register as challenger, decide promotion.

``--reproduce RUN_ID`` retrains from the config and table versions recorded on that run (same
seeds, same rows) and records the new run's metrics next to the old; it registers nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import mlflow
from mlflow import MlflowClient

from modelscale.caching import cached
from modelscale.config.models import PipelineConfig
from modelscale.context import JobContext, JobResult
from modelscale.errors import ConfigError
from modelscale.features.columns import require_row_key
from modelscale.features.inputs import pin_versions, validation_summary
from modelscale.logs import get_logger, step
from modelscale.monitoring.reference import log_reference
from modelscale.quality.passing import read_passing
from modelscale.tracking.lineage import TRAIN_END_TAG, environment_tags, input_versions, log_inputs
from modelscale.tracking.promotion import Decision, decide
from modelscale.tracking.registry import CHAMPION, alias_version, register_challenger, set_alias
from modelscale.tracking.setup import configure, dfs_tmpdir
from modelscale.tracking.spark_models import load_model
from modelscale.config.estimators import estimator_spec
from modelscale.config.metrics import DEFAULT_METRIC
from modelscale.training.evaluation import evaluate
from modelscale.training.report import CONFIG_ARTIFACT, log_config, log_outcome
from modelscale.training.splits import between, window
from modelscale.training.trainer import TrainOutcome, check_model_config, train_model

log = get_logger("train")


@dataclass(frozen=True)
class Plan:
    """What to train: the pipeline config, the window end and (when reproducing) pinned versions."""

    pipeline: PipelineConfig
    end: dt.date
    pinned: dict[str, int] | None = None
    reproduces: str | None = None


def run(ctx: JobContext) -> JobResult:
    """Train on the window ending at the last run date (or reproduce a recorded run)."""
    configure(ctx.settings, ctx.pipeline.name)
    plan = _plan(ctx)
    cfg = plan.pipeline
    check_model_config(cfg)
    if cfg.features is None:
        raise ConfigError(f"pipeline {cfg.name!r} has no features section (training reads its table)")
    table = cfg.features.table
    versions = pin_versions(ctx, [table], plan.pinned)
    w = window(plan.end, cfg.training.split)
    require_row_key(ctx.lakehouse.read(table, version=versions[table]), cfg.features, table=table)
    features = read_passing(ctx.lakehouse, ctx.pipeline, table, versions, where=between(w.start, w.end, cfg.features.date))
    tags = {**environment_tags(ctx.spark.version), TRAIN_END_TAG: str(plan.end), "modelscale.job_run_id": ctx.run_id,
            **({"modelscale.reproduces": plan.reproduces} if plan.reproduces else {})}
    with mlflow.start_run(run_name=f"train-{plan.end}", tags=tags) as active:
        log_config(cfg)
        log_inputs({t: (ctx.lakehouse.location(t), v) for t, v in versions.items()})  # with the quarantine read
        mlflow.log_dict(validation_summary(ctx, {table: versions[table]}), "validation/summary.json")
        outcome = train_model(features, cfg, plan.end, table=table)
        try:
            with step(log, "log to mlflow"):
                info = log_outcome(outcome, cfg, dfs_tmpdir(ctx.settings))
                log_reference(outcome.splits.train, outcome.test_predictions, cfg.model, cfg.monitoring)
            summary = {"mlflow_run_id": active.info.run_id, "inputs": versions, "rows": outcome.rows,
                       "metrics": outcome.metrics, "best_params": outcome.search.best_params,
                       "slices_flagged": [s.describe() for s in outcome.slices if s.flagged]}
            for flagged in summary["slices_flagged"]:
                log.warning("segment flagged on the test split: %s", flagged)
            if plan.reproduces:
                summary["reproduced"] = _compare(plan.reproduces, outcome.metrics)
            else:
                summary |= _register_and_promote(ctx, cfg, outcome, info.model_uri, active.info.run_id)
        finally:
            outcome.release()
    return JobResult("train", summary=summary)


def _plan(ctx: JobContext) -> Plan:
    run_id = ctx.flags.get("reproduce")
    if not run_id:
        return Plan(pipeline=ctx.pipeline, end=ctx.run_dates[-1])
    recorded = MlflowClient().get_run(run_id)
    pipeline = PipelineConfig.model_validate(mlflow.artifacts.load_dict(f"runs:/{run_id}/{CONFIG_ARTIFACT}"))
    return Plan(pipeline=pipeline, end=dt.date.fromisoformat(recorded.data.tags[TRAIN_END_TAG]),
                pinned=input_versions(recorded.data.params), reproduces=run_id)


def _compare(run_id: str, metrics: dict[str, float]) -> dict[str, object]:
    """The recorded run's test metrics next to ours, and whether they are equal."""
    old = {k.removeprefix("test_"): v for k, v in MlflowClient().get_run(run_id).data.metrics.items()
           if k.startswith("test_")}
    equal = all(abs(old.get(k, float("nan")) - v) < 1e-9 for k, v in metrics.items())
    mlflow.set_tag("modelscale.reproduced_equal", str(equal).lower())
    return {"run_id": run_id, "equal": equal, "recorded": old}


def _register_and_promote(ctx: JobContext, cfg: PipelineConfig, outcome: TrainOutcome, model_uri: str,
                          run_id: str) -> dict[str, object]:
    """Register as challenger; score the champion on the same test rows; move ``champion`` if the rule says so."""
    assert cfg.model is not None
    name, task = cfg.model.registered_name, estimator_spec(cfg.model.estimator).task
    metric = cfg.training.promotion.metric or DEFAULT_METRIC[task]
    version = register_challenger(model_uri, name, run_id)
    champion_version = alias_version(name, CHAMPION)
    champion_metrics = None
    if champion_version is not None:
        with step(log, "score champion", version=champion_version):
            champion = load_model(f"models:/{name}@{CHAMPION}", dfs_tmpdir(ctx.settings))
            with cached(champion.transform(outcome.splits.test)) as scored:
                champion_metrics = evaluate(scored, task, cfg.model.label, cfg.model.threshold)
    decision = decide(outcome.metrics, champion_metrics, cfg.training.promotion, metric)
    if decision.promote:
        set_alias(name, CHAMPION, version)
    _log_decision(decision, champion_version, champion_metrics)
    log.info("promotion of %s v%s: %s (%s)", name, version, "promoted" if decision.promote else "kept challenger",
             decision.reason)
    return {"registered_model": name, "version": version, "promoted": decision.promote, "reason": decision.reason,
            "champion_version": version if decision.promote else champion_version}


def _log_decision(decision: Decision, champion_version: str | None, champion_metrics: dict[str, float] | None) -> None:
    mlflow.log_dict({**decision.as_dict(), "champion_version": champion_version,
                     "champion_metrics": champion_metrics}, "promotion.json")
    mlflow.set_tags({"promotion.decision": "promoted" if decision.promote else "not_promoted",
                     "promotion.reason": decision.reason})
    if champion_metrics:
        mlflow.log_metrics({f"champion_test_{k}": v for k, v in champion_metrics.items()})
