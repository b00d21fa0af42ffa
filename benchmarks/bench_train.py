"""Spark MLlib vs scikit-learn and LightGBM on the demo features: fit time and test AUC, plus scaling.

Same rows, same feature vectors (the fitted feature stages' output), same machine, one run. The
1x training set is the first ``BENCH_TRAIN_DAYS`` days of 2013 (default 21; the next 7 days are the
test set); 4x and 16x resample it with replacement. ``BENCH_TRAIN_MAX_SCALE`` caps the curve
(default 16). Records: name, rows, seconds (Spark fit), baseline_seconds (peer fit), ratio
(peer seconds / Spark seconds: throughput relative to the peer), auc, baseline_auc.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

import numpy as np
from pyspark.ml.classification import GBTClassifier, LogisticRegression
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "features"))

from nycflights import silver_frames  # noqa: E402

from modelscale.config import load_config  # noqa: E402
from modelscale.features.builders import build_features  # noqa: E402
from modelscale.training.evaluation import evaluate  # noqa: E402
from modelscale.training.pipeline_builder import FEATURES, feature_pipeline  # noqa: E402

START = dt.date(2013, 1, 1)
TREES, DEPTH, LR_ITER = 50, 6, 50


def _demo_features(spark: SparkSession, train_days: int) -> tuple[DataFrame, DataFrame]:
    cfg = load_config("local", "flights_delay").pipeline
    end = START + dt.timedelta(days=train_days + 6)
    feats = build_features(**silver_frames(spark, START, end), cfg=cfg.features).where("label IS NOT NULL")
    model_cfg = cfg.model.model_copy(update={"estimator": "gbt_classifier"})  # no scaling: same vectors for all
    split = START + dt.timedelta(days=train_days)
    train, test = feats.where(f"flight_date < '{split}'"), feats.where(f"flight_date >= '{split}'")
    stages = feature_pipeline(model_cfg).fit(train)
    prep = lambda df: stages.transform(df).select(FEATURES, "label").cache()  # noqa: E731
    return prep(train), prep(test)


def _numpy(df: DataFrame) -> tuple[np.ndarray, np.ndarray]:
    pdf = df.select(vector_to_array(FEATURES).alias("x"), "label").toPandas()
    return np.stack(pdf["x"].to_numpy()), pdf["label"].to_numpy()


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run(spark: SparkSession) -> list[dict]:
    import lightgbm
    from sklearn.linear_model import LogisticRegression as SkLogistic
    from sklearn.metrics import roc_auc_score

    train_days = int(os.environ.get("BENCH_TRAIN_DAYS", "21"))
    max_scale = int(os.environ.get("BENCH_TRAIN_MAX_SCALE", "16"))
    train1, test = _demo_features(spark, train_days)
    x_test, y_test = _numpy(test)
    records = []
    for scale in [s for s in (1, 4, 16) if s <= max_scale]:
        train = train1 if scale == 1 else train1.sample(True, float(scale), seed=scale).cache()
        rows = train.count()
        x, y = _numpy(train)
        peers = {
            "logistic": _timed(lambda: SkLogistic(max_iter=LR_ITER * 4).fit(x, y)),  # noqa: B023
            "gbt": _timed(lambda: lightgbm.LGBMClassifier(n_estimators=TREES, max_depth=DEPTH, num_leaves=2**DEPTH - 1,  # noqa: B023
                                                          verbose=-1).fit(x, y)),
        }
        ours = {
            "logistic": LogisticRegression(maxIter=LR_ITER, regParam=0.0),
            "gbt": GBTClassifier(maxIter=TREES, maxDepth=DEPTH, seed=42),
        }
        for kind, est in ours.items():
            model, seconds = _timed(lambda: est.fit(train))  # noqa: B023
            auc = evaluate(model.transform(test), "classification", "label")["auc_roc"]
            peer, peer_seconds = peers[kind]
            peer_auc = roc_auc_score(y_test, peer.predict_proba(x_test)[:, 1])
            records.append({
                "name": f"train_{kind}_{scale}x", "rows": rows, "seconds": round(seconds, 2),
                "baseline_seconds": round(peer_seconds, 3), "ratio": round(peer_seconds / seconds, 4),
                "auc": round(auc, 4), "baseline_auc": round(float(peer_auc), 4),
                "baseline": "scikit-learn LogisticRegression" if kind == "logistic" else "LightGBM",
                "target": "AUC within 0.005 of best peer; fastest Spark fit within 10x of LightGBM at full year",
            })
        if scale != 1:
            train.unpersist()
    return records
