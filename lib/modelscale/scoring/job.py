"""``modelscale run score``: the registered model scores each run date's feature rows.

The model (alias or pinned version) is resolved and loaded, and the feature table's columns checked
against its inputs, before anything is written. The feature table version must have passed validation
(the gate), and rows its validation quarantined are not scored. The run dates' partitions of the predictions
table are replaced in one commit (``replaceWhere``), so a re-score replaces those dates and a crash
leaves the previous predictions. The commit's `Txn` version is the time of the write in milliseconds:
a replay of that commit is skipped, a new scoring run replaces the dates.
"""

from __future__ import annotations

import datetime as dt
import time

from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from modelscale.context import JobContext, JobResult, dates_predicate, dates_span
from modelscale.delta import Txn
from modelscale.errors import ConfigError
from modelscale.features.columns import require_row_key
from modelscale.features.inputs import features_config, pin_versions
from modelscale.logs import get_logger, step
from modelscale.quality.passing import read_passing
from modelscale.scoring.contributions import contributions, explaining
from modelscale.scoring.inputs import check_inputs, expected_inputs
from modelscale.scoring.model import ModelRef, input_types, load, resolve
from modelscale.tracking.setup import configure, dfs_tmpdir
from modelscale.training.evaluation import SCORE, with_score

log = get_logger("score")
JOB = "score"


def run(ctx: JobContext) -> JobResult:
    """Score the feature rows of every run date with the configured model version."""
    cfg, pipeline = ctx.pipeline.scoring, ctx.pipeline
    if pipeline.model is None:
        raise ConfigError(f"pipeline {pipeline.name!r} has no model section (scoring needs model.registered_name)")
    features_cfg = features_config(ctx)
    table = features_cfg.table
    ctx.lakehouse.catalog.table(cfg.table)  # the predictions table is declared (ConfigError otherwise)
    configure(ctx.settings, pipeline.name)
    ref = resolve(pipeline.model.registered_name, cfg)
    versions = pin_versions(ctx, [table])
    version = versions[table]
    require_row_key(ctx.lakehouse.read(table, version=version), features_cfg, table=table)
    where = dates_predicate(features_cfg.date, ctx.run_dates)
    features = read_passing(ctx.lakehouse, pipeline, table, versions, where=where)
    check_inputs(features.schema, expected_inputs(input_types(ref), pipeline.model.categorical, pipeline.model.numeric),
                 table=table, model=ref.describe())
    with step(log, "load model", model=ref.describe()):
        model = load(ref, dfs_tmpdir(ctx.settings))
    if cfg.contributions:
        model = explaining(model, ref.describe())
    scored_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    span = dates_span(ctx.run_dates)
    with step(log, "score", dates=span, model=ref.describe()) as info:
        result = ctx.lakehouse.overwrite(
            # one file per date partition, however many dates a backfill scores
            cfg.table, ctx.lakehouse.clustered(cfg.table, predictions(model, features, features_cfg.row_key, ref,
                                                                      version, ctx.run_id, scored_at)),
            replace_where=where,
            merge_schema=cfg.contributions,  # the first explained scoring adds the contributions column
            txn=Txn(app_id=f"{pipeline.name}/score/{span}", version=int(time.time() * 1000)),
            skip_unchanged=RUN_LINEAGE,  # a rerun with the same model and features commits nothing
            metadata={"run_id": ctx.run_id, "run_dates": span, "model": ref.uri, "training_run_id": ref.run_id,
                      f"input.{table}.version": str(version)},
        )
        info.update(rows=result.rows_written, version=result.version)
    return JobResult(JOB, summary={"table": cfg.table, "rows": result.rows_written, "version": result.version,
                                   "committed": result.committed,
                                   "model": {"name": ref.name, "version": ref.version, "alias": ref.alias,
                                             "training_run_id": ref.run_id},
                                   "inputs": versions})


RUN_LINEAGE = ("scoring_run_id", "scored_at")  # the columns a rerun changes whatever it scores


def predictions(model: PipelineModel, features: DataFrame, key: list[str], ref: ModelRef, features_version: int,
                job_run_id: str, scored_at: dt.datetime) -> DataFrame:
    """The row ``key``, prediction, positive-class probability (null for a regressor), lineage and (from a model
    that computes them: `explaining`) feature contributions of each scored row."""
    out = model.transform(features)
    explained = contributions(out, model)
    probability = F.col(SCORE) if "probability" in out.columns else F.lit(None)
    if "probability" in out.columns:
        out = with_score(out)
    return out.select(
        *key,
        F.col("prediction").cast("double").alias("prediction"),
        probability.cast("double").alias("probability"),
        F.lit(ref.name).alias("model_name"),
        F.lit(ref.version).alias("model_version"),
        F.lit(ref.run_id).alias("training_run_id"),
        F.lit(features_version).cast("long").alias("features_version"),
        F.lit(job_run_id).alias("scoring_run_id"),
        F.lit(scored_at).cast("timestamp").alias("scored_at"),
        *([explained] if explained is not None else []),
    )
