"""Secrets: what `modelscale.secrets` hides, where config secrets come from, and a real run that leaks none of them."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import mlflow
import pytest
import yaml
from homes import REPO
from mlflow import MlflowClient
from pyspark.sql import SparkSession
from servers import wait_for_http
from training.conftest import END, Slice, home_env, slice_, small  # noqa: F401  (fixtures)

from modelscale import runner
from modelscale.cli import EXIT_OK, EXIT_USER_ERROR, main
from modelscale.config import load_config
from modelscale.errors import ConfigError
from modelscale.logs import setup_logging
from modelscale.secrets import env_name, is_secret_name, lookup, redact, redact_text, remember
from modelscale.tracking.setup import without_credentials

VENV_BIN = Path(sys.executable).parent


@pytest.mark.parametrize(("text", "expected"), [
    ("https://ci:s3cr3t@mlflow.example.com:5000/api?x=1", "https://ci:***@mlflow.example.com:5000/api?x=1"),
    ("jdbc:mysql://hive:pw@metastore:3306/hive", "jdbc:mysql://hive:***@metastore:3306/hive"),
    ("postgresql://app:p%40ss@db/x and s3a://AKIA:wJal/r+K@bucket/p", "postgresql://app:***@db/x and s3a://AKIA:***@bucket/p"),
    ("sc://host:15002/;token=dapi123;user_id=me", "sc://host:15002/;token=***;user_id=me"),
    ("https://a.blob.core.windows.net/c/f.csv?sv=2021-06-08&sig=AbC%2Bd&se=2030",
     "https://a.blob.core.windows.net/c/f.csv?sv=2021-06-08&sig=***&se=2030"),
    ("https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA/20130101/us-east-1/s3/aws4_request&X-Amz-Signature=f00",
     "https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***"),
    ("DefaultEndpointsProtocol=https;AccountName=acc;AccountKey=Zm9v==;EndpointSuffix=core.windows.net",
     "DefaultEndpointsProtocol=https;AccountName=acc;AccountKey=***;EndpointSuffix=core.windows.net"),
    ("{'spark.hadoop.fs.s3a.secret.key': 'wJal/r+K', 'spark.master': 'local[2]'}",
     "{'spark.hadoop.fs.s3a.secret.key': '***', 'spark.master': 'local[2]'}"),
    ('{"DATABRICKS_TOKEN": "dapi0", "MLFLOW_TRACKING_PASSWORD":"pw"}', '{"DATABRICKS_TOKEN": "***", "MLFLOW_TRACKING_PASSWORD":"***"}'),
    ("password: hunter2 was refused", "password: *** was refused"),
    ("Authorization: Bearer eyJhbGciOi.e30.sig", "Authorization: Bearer ***"),
])
def test_redact_text_hides_only_the_secret_part(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize("text", [
    "abfss://container@account.dfs.core.windows.net/lake",
    "s3a://bucket/lakehouse/silver/flights",
    "unknown secret ${secret:aws/secret-key}",
    "started Spark 4.1.1 master=local[2] shuffle_partitions=4 key=flight_id",
    "sqlite:////tmp/home/mlflow/mlflow.db http://mlflow:5000",
])
def test_redact_text_leaves_what_is_no_secret(text: str) -> None:
    assert redact_text(text) == text


def test_secret_names() -> None:
    for name in ("spark.hadoop.fs.s3a.secret.key", "spark.hadoop.fs.s3a.access.key", "fs.azure.account.key.a.dfs.core.windows.net",
                 "fs.azure.sas.c.a.blob.core.windows.net", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD",
                 "DATABRICKS_TOKEN", "clientSecret", "X-Amz-Credential", "sig", "api_key", "credentials"):
        assert is_secret_name(name), name
    for name in ("spark.master", "primary_key", "sasl.mechanism", "signal", "key", "tracking_uri"):
        assert not is_secret_name(name), name


def test_redact_walks_mappings_and_lists() -> None:
    config = {"spark": {"conf": {"spark.hadoop.fs.s3a.secret.key": "wJal/r+K", "spark.sql.shuffle.partitions": "4"}},
              "mlflow": {"tracking_uri": "https://ci:pw@mlflow", "token": None},
              "credentials": [{"user": "ci", "port": 5432, "tls": True}], "uris": ["postgresql://a:b@db/x"]}
    assert redact(config) == {
        "spark": {"conf": {"spark.hadoop.fs.s3a.secret.key": "***", "spark.sql.shuffle.partitions": "4"}},
        "mlflow": {"tracking_uri": "https://ci:***@mlflow", "token": None},
        "credentials": [{"user": "***", "port": "***", "tls": True}], "uris": ["postgresql://a:***@db/x"]}


def test_remembered_secrets_are_hidden_out_of_context() -> None:
    remember({"fs.azure.account.key.acc": "Zm9vYmFyYmF6cXV4", "note": "https://u:pa55word1@h", "token": "abc",
              "fs.s3a.secret.key": "${secret:aws/endpoint-token}"})
    assert redact_text("S3 said: bad key Zm9vYmFyYmF6cXV4; retried with pa55word1") == "S3 said: bad key ***; retried with ***"
    assert redact_text("abc and ${secret:aws/endpoint-token}") == "abc and ${secret:aws/endpoint-token}"  # too short; a reference


def test_secret_references_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert env_name("aws", "secret-key") == "MODELSCALE_SECRET__AWS__SECRET_KEY"
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    monkeypatch.setenv("MODELSCALE_SECRET__AWS__SECRET_KEY", "from-the-environment-1")
    assert lookup("aws", "secret-key") == "from-the-environment-1"
    assert redact_text("got from-the-environment-1") == "got ***"


def test_on_databricks_secret_references_come_from_the_secret_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    scopes = {("aws", "secret-key"): "from-the-secret-scope-1"}

    def get(scope: str, key: str) -> str:
        if (scope, key) not in scopes:
            raise RuntimeError(f"Secret does not exist with scope: {scope} and key: {key}")
        return scopes[scope, key]

    fake = types.ModuleType("databricks.sdk.runtime")
    fake.dbutils = types.SimpleNamespace(secrets=types.SimpleNamespace(get=get))
    monkeypatch.setitem(sys.modules, "databricks.sdk.runtime", fake)
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "16.4")
    monkeypatch.setenv("MODELSCALE_SECRET__AWS__SECRET_KEY", "not-used-on-databricks")
    assert lookup("aws", "secret-key") == "from-the-secret-scope-1"
    with pytest.raises(LookupError, match="Databricks secret scope 'aws' gave no key 'other' \\(RuntimeError\\)"):
        lookup("aws", "other")


def test_config_resolves_secret_references_and_shows_them_redacted(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MODELSCALE_SECRET__METASTORE__PASSWORD", "metastore-pw-0451")
    monkeypatch.setenv("MODELSCALE__SPARK__CONF__SPARK.HADOOP.JAVAX.JDO.OPTION.CONNECTIONURL",
                       "jdbc:mysql://hive:${secret:metastore/password}@metastore:3306/hive")
    monkeypatch.setenv("MODELSCALE__SPARK__CONF__SPARK.HADOOP.FS.S3A.SECRET.KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfi")
    conf = load_config().settings.spark.conf
    assert conf["spark.hadoop.javax.jdo.option.connectionurl"] == "jdbc:mysql://hive:metastore-pw-0451@metastore:3306/hive"
    assert main(["config", "show"]) == EXIT_OK
    shown = yaml.safe_load(capsys.readouterr().out)["settings"]["spark"]["conf"]
    assert shown["spark.hadoop.javax.jdo.option.connectionurl"] == "jdbc:mysql://hive:***@metastore:3306/hive"
    assert shown["spark.hadoop.fs.s3a.secret.key"] == "***"


def test_an_unknown_secret_names_the_key_path_and_the_reference(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MODELSCALE__MLFLOW__TRACKING_URI", "https://ci:${secret:mlflow/password}@mlflow.example.com")
    with pytest.raises(ConfigError) as err:
        load_config()
    assert str(err.value) == ("environment variables: mlflow.tracking_uri: ${secret:mlflow/password}: no such secret "
                              "(environment variable MODELSCALE_SECRET__MLFLOW__PASSWORD is not set)")
    monkeypatch.setenv("MODELSCALE__MLFLOW__TRACKING_URI", "${secret:no-key}")
    assert main(["config", "show"]) == EXIT_USER_ERROR
    assert "mlflow.tracking_uri: ${secret:no-key}: expected a secret reference as ${secret:<scope>/<key>}" in " ".join(
        capsys.readouterr().err.split())  # the CLI wraps the paragraph


def test_config_errors_never_quote_a_secret(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSCALE__SPARK__CONF__SPARK.HADOOP.FS.S3A.SECRET.KEY", "4815162342")  # YAML: a number
    monkeypatch.setenv("MODELSCALE__STORAGE__ROOT", "s3a://AKIAEXAMPLE:wJalr/XUtn@bucket/lake")
    with pytest.raises(ConfigError) as err:
        load_config()
    message = str(err.value)
    assert "storage.root: a location must not hold a credential" in message and "AKIAEXAMPLE:***@bucket" in message
    assert "spark.conf.spark.hadoop.fs.s3a.secret.key: Input should be a valid string (got '***')" in message
    assert "wJalr" not in message and "4815162342" not in message


def test_log_records_and_their_tracebacks_are_redacted(tmp_path: Path) -> None:
    setup_logging("INFO", tmp_path)
    log = logging.getLogger("modelscale.test")
    try:
        raise RuntimeError("API request to https://ci:trace-pw-77@mlflow.example.com failed")
    except RuntimeError:
        log.exception("connecting to Spark Connect at %s", "sc://host:443/;token=dapi-log-token-1")
    for handler in logging.getLogger("modelscale").handlers:
        handler.flush()
    text = (tmp_path / "modelscale.log").read_text()
    assert "sc://host:443/;token=***" in text and "https://ci:***@mlflow.example.com" in text
    assert "dapi-log-token-1" not in text and "trace-pw-77" not in text


def test_mlflow_gets_uri_credentials_as_its_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.setenv(name, "")  # restored after the test
    assert without_credentials("https://ci-bot:p%40ss@mlflow.example.com:5000/x") == "https://mlflow.example.com:5000/x"
    assert (os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"]) == ("ci-bot", "p@ss")
    for uri in ("sqlite:////tmp/mlflow.db", "databricks", "http://mlflow:5000"):
        assert without_credentials(uri) == uri


@pytest.mark.skipif(not (REPO / ".venv-airflow" / "bin" / "python").exists(), reason="no Airflow environment")
def test_airflow_tasks_take_secrets_from_a_connection_not_from_env_vars(home: Path) -> None:
    """The scheduler's own secret variables stay out of the tasks' env_vars (shown in Airflow's UI, on spark-submit's
    command line on YARN); each task puts the secrets connection's extra in its environment before it runs."""
    script = """
import json, os, sys
sys.path.insert(0, "airflow_dags")
import modelscale_dags as m
tasks = m.modelscale__flights_delay.tasks
m.export_secrets({})
print(json.dumps({"exported": os.environ["MODELSCALE_SECRET__AWS__SECRET_KEY"],
                  "hooked": all(t._pre_execute_hook is m.export_secrets for t in tasks),
                  "env_vars": sorted({k for t in tasks for k in t.env_vars}), "pass_through": m.PASS_THROUGH}))
"""
    conn = {"conn_type": "generic", "extra": {"aws/secret-key": "from-an-airflow-connection"}}
    env = {**os.environ, "AIRFLOW_HOME": str(home / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW_CONN_MODELSCALE_SECRETS": json.dumps(conn), "MODELSCALE_SECRET__AWS__SECRET_KEY": "scheduler's"}
    out = subprocess.run([str(REPO / ".venv-airflow" / "bin" / "python"), "-c", script], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300, check=True).stdout.splitlines()
    got = json.loads(out[-1])
    assert got["exported"] == "from-an-airflow-connection" and got["hooked"]
    assert "MODELSCALE_CONF" in got["env_vars"] and set(got["env_vars"]) <= set(got["pass_through"])


# --------------------------------------------------------------------------- a real run, then grep for the secrets

MLFLOW_PASSWORD = "mlflow-Pa55w0rd-7d1e"
ACCESS_KEY = "AKIAMODELSCALE0TEST1"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzSeCrEt01"
METASTORE_PASSWORD = "hive-Pa55w0rd-9f3c"
SAS_TOKEN = "sv=2021-06-08&ss=b&srt=co&sig=AbCdEf0123456789Sig%3D"
SECRETS = (MLFLOW_PASSWORD, ACCESS_KEY, SECRET_KEY, METASTORE_PASSWORD, SAS_TOKEN)
SAS_OPTION = "fs.azure.sas.landing.acct.blob.core.windows.net"
JDBC_URL = "spark.hadoop.javax.jdo.option.ConnectionURL"


@pytest.fixture(scope="module")
def tracking_server(home_env: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # noqa: F811
    """An MLflow tracking server (no auth: it ignores the credentials) on the home's SQLite store; its address."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (home_env / "mlflow").mkdir(exist_ok=True)
    log = tmp_path_factory.mktemp("mlflow-server") / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(VENV_BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{home_env}/mlflow/mlflow.db",
             "--default-artifact-root", str(home_env / "mlflow" / "artifacts"), "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1"], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", server, log, "MLflow server")
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=60)


def _conf_with_secrets(to: Path) -> Path:
    """The repository's conf/ with a metastore URL holding a password in local.yaml's spark.conf (camel case: not
    settable through an environment variable) and a SAS token as an option of the flights source."""
    shutil.copytree(REPO / "conf", to)
    local = yaml.safe_load((to / "local.yaml").read_text())
    local["spark"]["conf"][JDBC_URL] = "jdbc:mysql://hive:${secret:metastore/password}@metastore:3306/hive"
    (to / "local.yaml").write_text(yaml.safe_dump(local))
    pipeline = yaml.safe_load((to / "pipelines" / "flights_delay.yaml").read_text())
    pipeline["sources"]["flights"]["options"][SAS_OPTION] = "${secret:landing/sas-token}"
    (to / "pipelines" / "flights_delay.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    return to


@pytest.mark.slow
def test_a_job_run_leaks_no_secret(slice_: Slice, tracking_server: str, spark: SparkSession, tmp_path: Path,  # noqa: F811
                                   monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    """Secrets in a tracking URI, spark.conf (from the environment and from secret references) and a source option;
    config show, a training run, a scoring run from the CLI and a pipeline summary; then no secret in any file under
    MODELSCALE_HOME (logs, MLflow's store, artifacts, tables, reports) nor in anything printed."""
    home = Path(os.environ["MODELSCALE_HOME"])
    env = {
        "MODELSCALE_CONF": str(_conf_with_secrets(tmp_path / "conf")),
        "MODELSCALE__MLFLOW__TRACKING_URI": f"http://ci-bot:{MLFLOW_PASSWORD}@{tracking_server}",
        "MODELSCALE__SPARK__CONF__SPARK.HADOOP.FS.S3A.ACCESS.KEY": ACCESS_KEY,
        "MODELSCALE__SPARK__CONF__SPARK.HADOOP.FS.S3A.SECRET.KEY": "${secret:aws/secret-key}",
        # native: Hadoop writes the predictions table with the session's conf, where the storage keys are (the
        # slice's delta-rs tables read the same); delta-rs commits are written from Python, with no Spark conf
        "MODELSCALE__DELTA__ENGINE": "native",
        "MODELSCALE_SECRET__AWS__SECRET_KEY": SECRET_KEY,
        "MODELSCALE_SECRET__METASTORE__PASSWORD": METASTORE_PASSWORD,
        "MODELSCALE_SECRET__LANDING__SAS_TOKEN": SAS_TOKEN,
        "MLFLOW_TRACKING_USERNAME": "", "MLFLOW_TRACKING_PASSWORD": "",  # set by the run; restored after the test
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spark_keys = ("spark.hadoop.fs.s3a.access.key", "spark.hadoop.fs.s3a.secret.key", JDBC_URL)
    uris = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
    try:
        assert main(["config", "show", "--pipeline", "flights_delay"]) == EXIT_OK
        cfg = load_config("local", "flights_delay")
        cfg = cfg.model_copy(update={"pipeline": small(cfg.pipeline)})
        ctx = runner.build_context("local", "flights_delay", [END], config=cfg)
        assert spark.conf.get("spark.hadoop.fs.s3a.secret.key") == SECRET_KEY  # the secrets did reach Spark
        trained = runner.run_job("train", ctx)
        assert trained.ok and trained.summary["promoted"]
        assert main(["run", "score", "--pipeline", "flights_delay", "--run-date", str(END)]) == EXIT_OK
        monkeypatch.setattr(runner, "available", list)  # a pipeline with no job to run: just its summary
        runner.run_pipeline(ctx)
    finally:
        for key in spark_keys:
            spark.conf.unset(key)
        mlflow.set_tracking_uri(uris[0])
        mlflow.set_registry_uri(uris[1])
    printed = capfd.readouterr()

    server = f"http://{tracking_server}"
    client = MlflowClient(server)
    run = client.get_run(trained.summary["mlflow_run_id"])
    logged = json.loads(Path(client.download_artifacts(run.info.run_id, "config/pipeline.json", str(tmp_path))).read_text())
    assert logged["sources"]["flights"]["options"][SAS_OPTION] == "***"
    ops = client.search_runs([client.get_experiment_by_name("modelscale/flights_delay/operations").experiment_id])
    assert sorted(r.data.tags["modelscale.job"] for r in ops) == ["score", "train"]
    assert "settings:\n" in printed.out and "spark.hadoop.fs.s3a.secret.key: '***'" in printed.out
    assert f"mlflow ui --backend-store-uri http://ci-bot:***@{tracking_server}" in printed.out
    assert f"View run train-{END} at: {server}/" in printed.out  # MLflow's own link: no credentials in it

    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "mlflow.db" for p in files) and any(p.name == "modelscale.log" for p in files)
    for secret in SECRETS:
        for form in {secret, quote(secret, safe="")}:
            assert form not in printed.out and form not in printed.err, secret
            leaked = [str(p) for p in files if form.encode() in p.read_bytes()]
            assert not leaked, f"{secret} in {leaked}"
