"""Score and monitor jobs on four real days: partition replacement, lineage, errors before any write,
performance join, a drift breach on deliberately shifted data and the report drawn from it."""

from __future__ import annotations

import datetime as dt
import html
import re
import subprocess
import sys
from pathlib import Path

import mlflow.spark
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from PIL import Image
from pyspark.sql import functions as F
from scoring.conftest import DAYS, END
from training.conftest import Slice

from modelscale.cadence import first_of_last
from modelscale.context import JobContext, JobResult
from modelscale.errors import ConfigError, SchemaMismatchError
from modelscale.monitoring.charts import metric_chart, psi_chart
from modelscale.monitoring.job import run as monitor
from modelscale.monitoring.measures import LABELLED_ROWS, Stamp, performance_measures, slice_measures
from modelscale.monitoring.performance import evaluator_columns, performance
from modelscale.monitoring.report import ReportInput, history, write_report
from modelscale.scoring.contributions import BIAS
from modelscale.scoring.job import run as score
from modelscale.scoring.model import ModelNotFoundError
from modelscale.tracking.setup import dfs_tmpdir
from modelscale.training.evaluation import evaluate, evaluator
from modelscale.training.job import run as train
from modelscale.training.report import SLICES_ARTIFACT

Scored = tuple[Slice, JobResult]
PREDICTIONS = "predictions"
SCREENSHOT = Path(__file__).parents[2] / "scripts" / "screenshot_report.py"


def ctx_for(s: Slice, days: list[dt.date], run_id: str = "t", **updates: object) -> JobContext:
    """A context on ``days`` with pipeline sections replaced (e.g. scoring=..., features=...)."""
    pipeline = s.config.pipeline
    sections = {k: getattr(pipeline, k).model_copy(update=v) for k, v in updates.items()}
    ctx = s.ctx(run_id, pipeline=pipeline.model_copy(update=sections))
    ctx.run_dates = days
    return ctx


@pytest.fixture(scope="module")
def first_score(scored: Scored) -> JobResult:
    s, _ = scored
    return score(ctx_for(s, DAYS[2:], "score-1"))


def test_predictions_carry_lineage(scored: Scored, first_score: JobResult) -> None:
    s, trained = scored
    preds = s.lakehouse.read(PREDICTIONS)
    features = s.lakehouse.read("features").where(F.col("flight_date") >= DAYS[2])
    assert preds.count() == features.count() == first_score.summary["rows"]
    assert preds.join(features, ["flight_date", "carrier", "flight", "origin", "sched_dep_ts"]).count() == preds.count()
    lineage = preds.select("model_name", "model_version", "training_run_id", "features_version", "scoring_run_id") \
        .distinct().collect()
    assert [tuple(r) for r in lineage] == [("flights_delay", "1", trained.summary["mlflow_run_id"],
                                             s.lakehouse.version("features"), "score-1")]
    assert dict(preds.dtypes)["probability"] == "double"
    bad = preds.where(~F.col("probability").between(0, 1) | (F.col("prediction") != (F.col("probability") > 0.5)
                                                             .cast("double")))
    assert bad.count() == 0


def test_rescore_replaces_exactly_that_date(scored: Scored, first_score: JobResult) -> None:
    """A rescore that would write the same predictions commits nothing; one that finds that date's rows
    changed (here: half of them lost) replaces that date, and only it."""
    s, _ = scored
    lh = s.lakehouse
    where = f"flight_date = '{DAYS[2]}'"

    def by_date() -> dict[dt.date, tuple[int, list[str]]]:
        return {r["flight_date"]: (r["n"], r["runs"]) for r in lh.read(PREDICTIONS).groupBy("flight_date").agg(
            F.count("*").alias("n"), F.collect_set("scoring_run_id").alias("runs")).collect()}

    before_version, before = lh.version(PREDICTIONS), by_date()
    old_day3 = lh.read(PREDICTIONS, where=where).drop("scoring_run_id", "scored_at")

    unchanged = score(ctx_for(s, [DAYS[2]], "score-2"))
    assert lh.version(PREDICTIONS) == unchanged.summary["version"] == before_version
    assert by_date() == before

    lh.overwrite(PREDICTIONS, lh.read(PREDICTIONS, where=where).where("flight % 2 = 0"), replace_where=where)
    again = score(ctx_for(s, [DAYS[2]], "score-3"))

    assert lh.version(PREDICTIONS) == again.summary["version"] == before_version + 2
    after = by_date()
    assert after[DAYS[2]] == (before[DAYS[2]][0], ["score-3"])  # same rows, all from the new run
    assert after[DAYS[3]] == before[DAYS[3]]  # the other date untouched
    new_day3 = lh.read(PREDICTIONS, where=where).drop("scoring_run_id", "scored_at")
    assert new_day3.exceptAll(old_day3).count() == 0 and old_day3.exceptAll(new_day3).count() == 0


def test_missing_alias_or_version_fails_before_any_write(scored: Scored, first_score: JobResult) -> None:
    s, _ = scored
    version = s.lakehouse.version(PREDICTIONS)
    with pytest.raises(ModelNotFoundError, match=r"'flights_delay' has no alias @nope"):
        score(ctx_for(s, [END], scoring={"model_alias": "nope"}))
    with pytest.raises(ModelNotFoundError, match=r"version 99 \(scoring.model_version\)"):
        score(ctx_for(s, [END], scoring={"model_version": "99"}))
    assert s.lakehouse.version(PREDICTIONS) == version


def test_missing_or_mistyped_feature_column_fails_before_any_write(scored: Scored, first_score: JobResult) -> None:
    s, _ = scored
    broken = s.lakehouse.read("features").drop("distance").withColumn("dep_hour", F.col("dep_hour").cast("string"))
    s.lakehouse.overwrite("features_broken", broken)
    version = s.lakehouse.version(PREDICTIONS)
    with pytest.raises(SchemaMismatchError) as err:
        score(ctx_for(s, [END], features={"table": "features_broken"}))
    message = str(err.value)
    assert "'features_broken'" in message and "flights_delay v1" in message
    assert "distance is missing" in message and "dep_hour is string (expected a numeric type)" in message
    assert s.lakehouse.version(PREDICTIONS) == version


@pytest.fixture(scope="module")
def monitored(scored: Scored, first_score: JobResult) -> JobResult:
    """END monitored: drift of END's predictions, performance and segments of Jan 3's labelled ones."""
    s, _ = scored
    return monitor(ctx_for(s, [END], "monitor-1"))


def test_monitor_records_drift_and_performance_of_known_outcomes(scored: Scored, monitored: JobResult) -> None:
    s, _ = scored
    result = monitored
    rows = s.lakehouse.read("monitoring").where(F.col("run_date") == END)
    model, cfg = s.config.pipeline.model, s.config.pipeline.monitoring
    monitored = [c for c in (*model.numeric, *model.categorical) if c not in cfg.exclude]
    by_kind = {r["kind"]: r["count"] for r in rows.groupBy("kind").count().collect()}
    # labelled_rows + 7 classification metrics (auc_roc as its floor row); one row per carrier and per origin
    segments = len(result.summary["slices"])
    assert by_kind == {"feature_drift": len(monitored), "prediction_drift": 1, "performance": 8, "slice": segments}
    assert result.summary["rows_written"] == len(monitored) + 9 + segments

    # each column over its run dates, read by date range: END's feature rows, or those of the window's run dates
    # (features from Jan 1, predictions from Jan 3); the excluded column not at all
    drift = {r["feature"]: r["rows"] for r in rows.where("kind IN ('feature_drift', 'prediction_drift')").collect()}
    first = first_of_last(END, cfg.window_run_dates, "daily")
    features, predictions = s.lakehouse.read("features"), s.lakehouse.read(PREDICTIONS)
    day, window = (features.where(F.col("flight_date").between(start, END)).count() for start in (END, first))
    assert drift == {**{c: window if c in cfg.windowed else day for c in monitored},
                     "prediction": predictions.where(F.col("flight_date").between(first, END)).count()}
    assert set(cfg.exclude) == {"dep_month"} and "prediction" in cfg.windowed
    assert first == DAYS[0] - dt.timedelta(days=3)  # before the first day with features

    # performance of Jan 3's predictions = training's metrics on the model's own scores of Jan 3's labelled rows
    day = END - dt.timedelta(days=1)
    labelled = s.lakehouse.read("features", where=f"flight_date = '{day}'").where("label IS NOT NULL")
    perf = {r["metric"]: r for r in rows.where("kind = 'performance'").collect()}
    assert perf[LABELLED_ROWS]["value"] == labelled.count() and perf["auc_roc"]["evaluated_date"] == day
    model_obj = mlflow.spark.load_model("models:/flights_delay/1", dfs_tmpdir=dfs_tmpdir(s.config.settings))
    expected = evaluate(model_obj.transform(labelled), "classification", "label", model.threshold)
    for metric, value in expected.items():
        assert perf[metric]["value"] == pytest.approx(value, abs=1e-9), metric
    assert perf["auc_roc"]["threshold"] == 0.6 and perf["auc_roc"]["breached"] == (expected["auc_roc"] < 0.6)

    breached = rows.where("breached AND kind != 'slice'").count()  # a flagged segment is no alert
    assert result.ok == (breached == 0) and len(result.summary["breaches"]) == breached
    assert Path(result.summary["report"]).is_file()

    again = monitor(ctx_for(s, [END], "monitor-2"))  # a rerun replaces the date's rows
    assert s.lakehouse.read("monitoring").where(F.col("run_date") == END).count() == again.summary["rows_written"]


def test_training_logs_each_segment_of_its_test_split(scored: Scored) -> None:
    """The train run's slices table holds, per carrier and origin of the test split, exactly a groupBy's counts;
    a segment's metrics are the evaluators' on its rows alone; a flag is a checked segment below the bound."""
    s, trained = scored
    run_id, slices = trained.summary["mlflow_run_id"], s.config.pipeline.model.slices
    logged = mlflow.artifacts.load_dict(f"runs:/{run_id}/{SLICES_ARTIFACT}")
    table = [dict(zip(logged["columns"], row, strict=True)) for row in logged["data"]]
    model = mlflow.spark.load_model("models:/flights_delay/1", dfs_tmpdir=dfs_tmpdir(s.config.settings))
    test = (s.lakehouse.read("features", where=f"flight_date = '{END}'").where("label IS NOT NULL")
            .withColumn("label", F.col("label").cast("double")))
    predictions = model.transform(test).cache()
    assert predictions.count() == trained.summary["rows"]["test"]
    for column in slices.columns:
        counts = {r[column]: r["count"] for r in predictions.groupBy(column).count().collect()}
        assert {t["segment"]: t["rows"] for t in table if t["column"] == column} == counts, column

    largest = table[0]  # the largest carrier
    expected = evaluate(predictions.where(F.col("carrier") == largest["segment"]), "classification", "label",
                        s.config.pipeline.model.threshold)
    assert {m: largest[m] for m in expected} == pytest.approx(expected, abs=1e-9)
    overall = trained.summary["metrics"]["auc_roc"]
    for t in table:  # the table's numbers are JSON with 10 significant digits
        assert t["overall"] == pytest.approx(overall, abs=1e-9) and t["checked"] == (t["rows"] >= slices.min_rows)
        assert t["flagged"] == (t["checked"] and t["auc_roc"] < overall - slices.max_gap), t
    assert len(trained.summary["slices_flagged"]) == sum(t["flagged"] for t in table)
    run = mlflow.get_run(run_id)
    logged_auc = run.data.metrics[f"slice/auc_roc/carrier/{largest['segment']}"]
    assert logged_auc == pytest.approx(largest["auc_roc"], abs=1e-9)
    assert run.data.metrics["slice/flagged"] == sum(t["flagged"] for t in table)
    assert "figures/slices.png" in {a.path for a in MlflowClient().list_artifacts(run_id, "figures")}
    predictions.unpersist()


def labelled_day(s: Slice, day: dt.date):
    """The predictions of ``day`` whose outcome is known, with it (the rows monitoring evaluates)."""
    where = f"flight_date = '{day}'"
    labels = s.lakehouse.read("features", where=where).where("label IS NOT NULL").select(
        "flight_date", "carrier", "flight", "origin", "sched_dep_ts", F.col("label").cast("double").alias("label"))
    return s.lakehouse.read(PREDICTIONS, where=where).join(labels, ["flight_date", "carrier", "flight", "origin",
                                                                    "sched_dep_ts"])


def test_monitor_records_each_segment_of_the_labelled_outcomes(scored: Scored, monitored: JobResult) -> None:
    """One ``slice`` row per carrier and origin of Jan 3's labelled predictions: a groupBy's counts, the evaluator's
    AUC on the segment alone, the bound as threshold where the segment has min_rows; flags are no breach."""
    s, _ = scored
    slices, day = s.config.pipeline.model.slices, END - dt.timedelta(days=1)
    rows = s.lakehouse.read("monitoring").where((F.col("run_date") == END) & (F.col("kind") == "slice")).collect()
    labelled = labelled_day(s, day).cache()
    for column in slices.columns:
        counts = {r[column]: r["count"] for r in labelled.groupBy(column).count().collect()}
        assert {r["segment"]: r["rows"] for r in rows if r["feature"] == column} == counts, column
    largest = max(rows, key=lambda r: r["rows"])
    alone = evaluator_columns(labelled.where(F.col(largest["feature"]) == largest["segment"]), "classification")
    assert largest["value"] == pytest.approx(evaluator("classification", "auc_roc", "label").evaluate(alone), abs=1e-12)
    overall = monitored.summary["performance"]["auc_roc"]
    for r in rows:
        checked = r["rows"] >= slices.min_rows
        assert r["threshold"] == (pytest.approx(overall - slices.max_gap) if checked else None), r
        assert r["breached"] == (checked and r["value"] < overall - slices.max_gap) and r["evaluated_date"] == day
    assert len(monitored.summary["slices_flagged"]) == sum(r["breached"] for r in rows)
    assert not any("slice" in b for b in monitored.summary["breaches"])
    labelled.unpersist()


def test_a_segment_worse_by_more_than_the_gap_is_flagged_and_reported(scored: Scored, monitored: JobResult,
                                                                      tmp_path: Path) -> None:
    """Jan 3's labelled predictions with the probabilities of its largest carrier not flagged by monitoring reversed:
    that carrier is flagged, the other segments keep their values; the report lists the flagged segments apart from
    the breaches, with one table row per segment."""
    s, _ = scored
    day = END - dt.timedelta(days=1)
    before = {f"{g['column']}={g['segment']}": g for g in monitored.summary["slices"]}
    carrier = next(g["segment"] for g in monitored.summary["slices"] if g["column"] == "carrier" and not g["flagged"])
    reversed_ = labelled_day(s, day).withColumn(
        "probability", F.when(F.col("carrier") == carrier, 1 - F.col("probability")).otherwise(F.col("probability")))
    slices = s.config.pipeline.model.slices
    rows, metrics, segments = performance(reversed_, "classification", "label", 0.5, slices)
    by_name = {seg.name: seg for seg in segments}
    flagged = by_name[f"carrier={carrier}"]
    assert flagged.flagged and flagged.value < metrics["auc_roc"] - slices.max_gap
    assert flagged.value == pytest.approx(1 - before[flagged.name]["value"], abs=1e-9)  # ties count half either way
    others = {n: seg.value for n, seg in by_name.items() if n.startswith("carrier=") and n != flagged.name}
    assert others == pytest.approx({n: before[n]["value"] for n in others}, abs=1e-12)  # their rows are unchanged

    stamp = Stamp(END, "flagged", dt.datetime(2013, 1, 5))
    measures = (performance_measures(stamp, day, rows, metrics, [], ("flights_delay", "1"))
                + slice_measures(stamp, day, segments, ("flights_delay", "1")))
    page = write_report(tmp_path, ReportInput("flights_delay", "flights_delay v1", pd.DataFrame(columns=[
        "run_date", "kind", "feature", "metric", "value", "threshold", "breached", "evaluated_date"]), measures, {}))
    html = page.read_text(encoding="utf-8")
    section = re.search(r"<section id='segments'>(.*?)</section>", html, re.DOTALL)[1]
    assert re.findall(r"<li data-name='([^']+)'", section) == [seg.name for seg in segments if seg.flagged]
    assert sorted(re.findall(r"<tr class='[^']*' data-name='([^']+)'>", section)) == sorted(by_name)
    assert "FLAGGED" in section and "<figure data-name='segments'>" in section
    assert re.search(r"id='breach-count'>(\d+)<", html)[1] == "0"
    assert re.search(r"id='flagged-count'>(\d+)<", html)[1] == str(sum(seg.flagged for seg in segments))


@pytest.fixture(scope="module")
def shifted(scored: Scored, first_score: JobResult, tmp_path_factory: pytest.TempPathFactory) -> JobResult:
    """Jan 3 as it is and END with distance and carrier shifted, scored and monitored into their own tables (two
    run dates: the report's charts have a history), the report in its own folder."""
    s, _ = scored
    is_end = F.col("flight_date") == END
    shifted = (s.lakehouse.read("features", where=f"flight_date >= '{DAYS[2]}'")
               .withColumn("distance", F.when(is_end, F.col("distance") * 4 + 3000).otherwise(F.col("distance")))
               .withColumn("carrier", F.when(is_end, F.lit("ZZ")).otherwise(F.col("carrier"))))
    s.lakehouse.overwrite("features_shifted", shifted)
    sections = {"features": {"table": "features_shifted"}, "scoring": {"table": "predictions_shifted"},
                "monitoring": {"table": "monitoring_shifted", "report_dir": str(tmp_path_factory.mktemp("report")),
                               "retrain_on_breach": True, "thresholds": {}, "performance_floors": [],
                               "psi_threshold": 0.2}}
    score(ctx_for(s, DAYS[2:], "score-shifted", **sections))
    return monitor(ctx_for(s, DAYS[2:], "monitor-shifted", **sections))


def test_shifted_data_breaches_drift_and_requests_a_retraining(scored: Scored, shifted: JobResult) -> None:
    s, _ = scored
    result = shifted
    assert not result.ok and result.summary["retrain_requested"] is True
    psi = result.summary["psi"]
    assert psi["distance"] > 5 and psi["carrier"] > 5 and psi["origin"] < 0.2
    assert "feature_drift distance psi=" in result.message and "feature_drift carrier psi=" in result.message
    assert f"{END} feature_drift origin" not in result.message
    recorded = {r["feature"] for r in s.lakehouse.read("monitoring_shifted").where("breached").collect()}
    assert {"distance", "carrier"} <= recorded


def test_report_shows_the_monitoring_table(scored: Scored, shifted: JobResult) -> None:
    """The page's summary is the table's rows of the last run date; one PSI chart per monitored column, the excluded
    ones with their reason, a distribution chart for each breached one only; every image inline; the page logged to
    MLflow."""
    s, _ = scored
    page = Path(shifted.summary["report"]).read_text(encoding="utf-8")
    rows = s.lakehouse.read("monitoring_shifted").where(F.col("run_date") == END).collect()
    drift = [r for r in rows if r["kind"] in ("feature_drift", "prediction_drift")]
    alerts = [r for r in rows if r["breached"] and r["kind"] != "slice"]  # a flagged segment is listed apart
    sections = dict(re.findall(r"<section[^>]* id='(\w+)'>(.*?)</section>", page, re.DOTALL))

    assert re.search(r"id='breach-count'>(\d+)<", page)[1] == str(len(alerts)) != "0"
    assert sorted(re.findall(r"<li data-name='([^']+)'", sections["breaches"])) == \
        sorted(r["feature"] or r["metric"] for r in alerts)
    labelled = next(r["value"] for r in rows if r["metric"] == LABELLED_ROWS)
    assert f"{sum(r['kind'] == 'feature_drift' for r in rows)} features + prediction" in sections["summary"]
    assert f"{labelled:,.0f} labelled rows" in sections["summary"] and f">{END}<" in sections["summary"]
    assert "flights_delay v1 (@champion)" in sections["summary"]

    def charted(section: str) -> list[str]:
        return re.findall(r"<figure[^>]* data-name='([^']+)'>", sections[section])

    assert sorted(charted("drift")) == sorted(r["feature"] for r in drift)
    cfg = s.config.pipeline.monitoring  # excluded columns are listed with their reason, windowed ones marked
    assert re.findall(r"<li data-name='([^']+)'><b>[^<]*</b>: ([^<]*)</li>", sections["excluded"]) == [
        (name, html.escape(reason, quote=True)) for name, reason in cfg.exclude.items()]
    marked = re.findall(r"<td>(\w+) <span class='sub'>\(last (\d+) run dates\)</span></td>", page)
    assert sorted(marked) == sorted((c, str(cfg.window_run_dates)) for c in cfg.windowed)
    breached = {r["feature"] for r in drift if r["breached"]}
    assert {"distance", "carrier"} <= breached and "origin" not in breached
    assert sorted(charted("distributions")) == sorted(breached)
    assert LABELLED_ROWS in charted("performance") and "auc_roc" in charted("performance")
    assert {src[:22] for src in re.findall(r"(?:src|href)='([^']*)'", page)} == {"data:image/png;base64,"}
    run_id = shifted.summary["report_run_id"]
    assert [a.path for a in MlflowClient().list_artifacts(run_id, "report")] == ["report/index.html"]


def test_report_charts_label_each_date_once(scored: Scored, shifted: JobResult) -> None:
    """The charts of the real history: the x axis labels each run date (flight date) once, readable."""
    s, _ = scored
    hist = history(s.lakehouse, "monitoring_shifted", END)
    drift = hist[hist["feature"] == "distance"]
    perf = hist[hist["metric"] == LABELLED_ROWS]
    figures = [psi_chart("distance", drift, 0.2, sorted(set(drift["evaluated_date"]))),
               metric_chart(LABELLED_ROWS, perf, [], sorted(set(perf["evaluated_date"])), count=True)]
    labels = [[t.get_text() for t in fig.axes[0].get_xticklabels()] for fig in figures]
    assert labels == [["Jan 3", "Jan 4"], ["Jan 2", "Jan 3"]]


def test_report_screenshot_in_chromium(shifted: JobResult) -> None:
    """scripts/screenshot_report.py draws the real report in headless Chromium: a tall, wide, non-blank PNG."""
    folder = Path(shifted.summary["report"]).parent
    out = subprocess.run([sys.executable, str(SCREENSHOT), str(folder)], capture_output=True, text=True, timeout=300,
                         check=True).stdout
    if "skipped" in out:
        pytest.skip(out.strip())
    with Image.open(folder / "screenshot.png") as image:
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.shape[1] == 1400 and 1500 < pixels.shape[0] < 8000
    assert pixels.std() > 20 and (pixels < 128).mean() > 0.01  # charts and text, not a blank page


EXPLAINED = "predictions_explained"


@pytest.fixture(scope="module")
def xgboost_trained(scored: Scored) -> JobResult:
    """A small xgboost classifier trained by the train job on the slice's window, registered as flights_delay_xgb."""
    s, _ = scored
    pipeline = s.config.pipeline
    model = pipeline.model.model_copy(update={
        "estimator": "xgboost_classifier", "registered_name": "flights_delay_xgb",
        "params": {"xgboost_classifier": {"n_estimators": 10, "max_depth": 3, "num_workers": 1}}})
    ctx = s.ctx("train-xgb", pipeline=pipeline.model_copy(update={"model": model}))
    ctx.run_dates = [END]
    return train(ctx)


def explained(s: Slice, run_id: str, contributions: bool) -> JobContext:
    """END scored into `EXPLAINED` by version 1 of flights_delay_xgb, with or without contributions."""
    return ctx_for(s, [END], run_id, model={"registered_name": "flights_delay_xgb"},
                   scoring={"table": EXPLAINED, "model_version": "1", "contributions": contributions})


def test_xgboost_training_run_logs_importances_by_feature(scored: Scored, xgboost_trained: JobResult) -> None:
    s, _ = scored
    run_id = xgboost_trained.summary["mlflow_run_id"]
    assert "figures/feature_importance.png" in {a.path for a in MlflowClient().list_artifacts(run_id, "figures")}
    weights = mlflow.artifacts.load_dict(f"runs:/{run_id}/feature_importance.json")
    model = s.config.pipeline.model
    assert weights["kind"] == "importance" and set(weights["by_column"]) == {*model.categorical, *model.numeric}
    assert sum(weights["by_feature"].values()) == pytest.approx(1.0) == sum(weights["by_column"].values())


def test_contributions_of_a_model_without_them_fail_before_any_write(scored: Scored, first_score: JobResult) -> None:
    """The champion is a logistic regression: asked for contributions, scoring names the key and the model."""
    s, _ = scored
    with pytest.raises(ConfigError, match=r"scoring.contributions: model flights_delay v1 \(@champion\) is a "
                                          r"LogisticRegressionModel, which computes no per-row contributions"):
        score(ctx_for(s, [END], scoring={"table": EXPLAINED, "contributions": True}))
    assert not s.lakehouse.exists(EXPLAINED)
    assert "contributions" not in s.lakehouse.read(PREDICTIONS).columns  # not opted in: no column


def test_contributions_add_up_to_each_rows_log_odds_and_reruns_commit_nothing(scored: Scored,
                                                                             xgboost_trained: JobResult) -> None:
    """Opted in, each row's contributions and bias sum to the logit of its probability; a rerun commits nothing;
    opted out again, the dates' contributions become null (the column stays) and a rerun commits nothing."""
    s, _ = scored
    lh = s.lakehouse
    first = score(explained(s, "explain-1", True))
    preds = lh.read(EXPLAINED)
    total = F.aggregate(F.map_values("contributions"), F.lit(0.0), lambda acc, v: acc + v)
    logit = F.log(F.col("probability") / (1 - F.col("probability")))
    assert preds.count() == first.summary["rows"] > 0
    assert preds.where(~F.map_contains_key("contributions", BIAS) | (F.abs(total - logit) > 1e-3)).count() == 0
    assert score(explained(s, "explain-2", True)).summary["version"] == first.summary["version"]

    off = score(explained(s, "explain-3", False))
    assert off.summary["version"] == first.summary["version"] + 1
    assert lh.read(EXPLAINED).where(F.col("contributions").isNotNull()).count() == 0
    assert score(explained(s, "explain-4", False)).summary["version"] == off.summary["version"]
