"""Spark MLlib vs scikit-learn and LightGBM on the demo features: fit time and test AUC, plus scaling.

Same rows, same feature vectors (the fitted feature stages' output), same machine, one run. The
1x training set is the full year's features up to ``BENCH_TRAIN_SPLIT`` (default 2013-11-01; the
rest of the year is the test set); 4x and 16x replicate every training row 4 and 16 times on both
sides, so Spark and the peers fit exactly the same rows. ``BENCH_TRAIN_SCALES`` picks the curve
(default ``1,4,16``) and ``BENCH_TRAIN_GBT_MAX_SCALE`` caps Spark's GBTClassifier, the slowest option.
Records: name, rows, seconds (Spark fit), baseline_seconds (peer fit), ratio (peer seconds / Spark
seconds), auc, baseline_auc. Each Spark estimator is first fitted once, untimed, on a 2% sample.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pyspark.ml.classification import GBTClassifier, LogisticRegression
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "features"))

from nycflights import demo_features  # noqa: E402

from modelscale.config import load_config  # noqa: E402
from modelscale.training.evaluation import evaluate  # noqa: E402
from modelscale.training.pipeline_builder import FEATURES, feature_pipeline  # noqa: E402

START, END = dt.date(2013, 1, 1), dt.date(2013, 12, 31)
TREES, DEPTH, LEARNING_RATE, LR_ITER = 50, 6, 0.1, 100


def _demo_features(spark: SparkSession, split: dt.date) -> tuple[DataFrame, DataFrame]:
    """Train (before ``split``) and test feature vectors of the whole year, cached."""
    cfg = load_config("local", "flights_delay").pipeline
    feats = demo_features(spark, START, END).where("label IS NOT NULL").cache()
    print(f"features: {feats.count()} labelled rows", flush=True)  # built once: the stages' fit and both splits reuse it
    model_cfg = cfg.model.model_copy(update={"estimator": "gbt_classifier"})  # no scaling: same vectors for all
    train, test = feats.where(f"flight_date < '{split}'"), feats.where(f"flight_date >= '{split}'")
    stages = feature_pipeline(model_cfg).fit(train)
    prep = lambda df: stages.transform(df).select(FEATURES, "label").cache()  # noqa: E731
    return prep(train), prep(test)


def _numpy(df: DataFrame) -> tuple[np.ndarray, np.ndarray]:
    pdf = df.select(vector_to_array(FEATURES, "float32").alias("x"), "label").toPandas()
    return np.stack(pdf["x"].to_numpy()), pdf["label"].to_numpy()


def _timed(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _replicated(df: DataFrame, scale: int) -> DataFrame:
    """Every row ``scale`` times, cached and materialised (so the fit times exclude building it)."""
    if scale == 1:
        return df
    out = df.withColumn("_copy", F.explode(F.sequence(F.lit(1), F.lit(scale)))).drop("_copy").cache()
    out.count()
    return out


def _spark_models(scale: int, gbt_max_scale: int) -> dict[str, object]:
    models: dict[str, object] = {"logistic": LogisticRegression(maxIter=LR_ITER, regParam=0.0)}
    if scale <= gbt_max_scale:
        models["gbt"] = GBTClassifier(maxIter=TREES, maxDepth=DEPTH, stepSize=LEARNING_RATE, seed=42)
    try:
        from xgboost.spark import SparkXGBClassifier
    except ImportError:
        return models
    models["xgboost"] = SparkXGBClassifier(n_estimators=TREES, max_depth=DEPTH, learning_rate=LEARNING_RATE,
                                           num_workers=2, tree_method="hist", random_state=42)
    return models


def run(spark: SparkSession) -> list[dict]:
    import lightgbm
    from sklearn.linear_model import LogisticRegression as SkLogistic
    from sklearn.metrics import roc_auc_score

    split = dt.date.fromisoformat(os.environ.get("BENCH_TRAIN_SPLIT", "2013-11-01"))
    scales = [int(s) for s in os.environ.get("BENCH_TRAIN_SCALES", "1,4,16").split(",")]
    gbt_max_scale = int(os.environ.get("BENCH_TRAIN_GBT_MAX_SCALE", "4"))
    train1, test = _demo_features(spark, split)
    warmup = train1.sample(fraction=0.02, seed=7).cache()
    x1, y1 = _numpy(train1)
    x_test, y_test = _numpy(test)
    records = []
    for scale in scales:
        train = _replicated(train1, scale)
        rows = train.count()
        x, y = (x1, y1) if scale == 1 else (np.tile(x1, (scale, 1)), np.tile(y1, scale))
        peer_fits = {
            "logistic": ("scikit-learn LogisticRegression", lambda: SkLogistic(max_iter=LR_ITER).fit(x, y)),  # noqa: B023
            "gbt": ("LightGBM", lambda: lightgbm.LGBMClassifier(  # noqa: B023
                n_estimators=TREES, max_depth=DEPTH, num_leaves=2**DEPTH - 1, learning_rate=LEARNING_RATE,
                n_jobs=2, verbose=-1).fit(x, y)),  # noqa: B023
        }
        peers = {kind: (label, *_timed(fit)) for kind, (label, fit) in peer_fits.items()}
        peer_auc = {kind: float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]))
                    for kind, (_, model, _) in peers.items()}
        best_peer_auc = max(peer_auc.values())
        lightgbm_seconds = peers["gbt"][2]
        for kind, est in _spark_models(scale, gbt_max_scale).items():
            if scale == scales[0]:
                est.fit(warmup)  # untimed: JIT, Python workers and MLlib's code paths warm, as for the peers' native code
            model, seconds = _timed(lambda: est.fit(train))  # noqa: B023
            auc = evaluate(model.transform(test), "classification", "label")["auc_roc"]
            peer_kind = "logistic" if kind == "logistic" else "gbt"
            label, _, peer_seconds = peers[peer_kind]
            records.append({
                "name": f"train_{kind}_{scale}x", "rows": rows, "seconds": round(seconds, 2),
                "baseline": label, "baseline_seconds": round(peer_seconds, 2),
                "ratio": round(peer_seconds / seconds, 4), "auc": round(auc, 4),
                "baseline_auc": round(peer_auc[peer_kind], 4), "best_peer_auc": round(best_peer_auc, 4),
                "auc_gap_to_best_peer": round(best_peer_auc - auc, 4),
                "x_lightgbm_fit_time": round(seconds / lightgbm_seconds, 2),
                "target": "AUC within 0.005 of best peer; fastest Spark fit within 10x of LightGBM at 1x (full year)",
            })
            print(records[-1], flush=True)
        if scale != 1:
            train.unpersist()
    return records


if __name__ == "__main__":
    from modelscale.config.models import SparkSettings
    from modelscale.session import get_spark

    for record in run(get_spark(SparkSettings(master="local[2]", shuffle_partitions=4, driver_memory="6g"))):
        print(record)
