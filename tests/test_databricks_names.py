"""Databricks names without a workspace: Unity Catalog model names, the registry without ``order_by``, artifact URIs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pytest
from mlflow import MlflowClient

from modelscale.catalog import Catalog
from modelscale.config import load_config
from modelscale.errors import ConfigError
from modelscale.gates import _newest_version
from modelscale.tracking.setup import artifact_root

REPO_CONF = Path(__file__).resolve().parents[1] / "conf"


def test_databricks_names_tables_and_models_in_three_parts(home: Path) -> None:
    cfg = load_config("databricks", "flights_delay", REPO_CONF)
    assert cfg.settings.mlflow.registry_uri == "databricks-uc"
    assert cfg.pipeline is not None and cfg.pipeline.model is not None
    assert cfg.pipeline.model.registered_name == "main.modelscale.flights_delay"
    catalog = Catalog(cfg.settings, cfg.pipeline)
    ref = catalog.table("features")
    assert (ref.location, ref.is_catalog_name) == ("main.modelscale.flights_delay__features", True)
    assert catalog.table("flights").location == "main.modelscale.flights"  # ingest's tables are shared
    local = load_config("local", "flights_delay", REPO_CONF)
    assert local.pipeline is not None and local.pipeline.model is not None
    assert local.pipeline.model.registered_name == "flights_delay"


def test_a_three_part_registered_name_is_used_as_written(home: Path, tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    (conf / "pipelines").mkdir(parents=True)
    for name in ("base.yaml", "databricks.yaml"):
        (conf / name).write_text((REPO_CONF / name).read_text())
    src = (REPO_CONF / "pipelines" / "flights_delay.yaml").read_text()
    assert "registered_name: flights_delay\n" in src
    (conf / "pipelines" / "p.yaml").write_text(src.replace("registered_name: flights_delay\n",
                                                           "registered_name: ml.prod.delays\n"))
    cfg = load_config("databricks", "p", conf)
    assert cfg.pipeline is not None and cfg.pipeline.model is not None
    assert cfg.pipeline.model.registered_name == "ml.prod.delays"
    (conf / "pipelines" / "p.yaml").write_text(src.replace("registered_name: flights_delay\n",
                                                           "registered_name: prod.delays\n"))
    with pytest.raises(ConfigError, match=r"model.registered_name 'prod.delays'.*<catalog>.<schema>.<model>"):
        load_config("databricks", "p", conf)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"mlflow": {"model_schema": None}}, r"mlflow: registry_uri databricks-uc .*set mlflow.model_schema"),
    ({"mlflow": {"model_schema": "main"}}, r"mlflow.model_schema: expected <catalog>.<schema>"),
    ({"mlflow": {"model_schema": "a.b.c"}}, r"mlflow.model_schema: expected <catalog>.<schema>"),
])
def test_unity_catalog_registry_needs_a_model_schema(home: Path, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config("databricks", "flights_delay", REPO_CONF, overrides=overrides)


@pytest.mark.parametrize(("location", "expected"), [
    ("dbfs:/modelscale/mlflow", "dbfs:/modelscale/mlflow"),
    ("s3a://bucket/mlflow", "s3://bucket/mlflow"),  # MLflow knows S3 as s3:// only
    ("s3://bucket/mlflow", "s3://bucket/mlflow"),
    ("abfss://c@acct.dfs.core.windows.net/mlflow", "abfss://c@acct.dfs.core.windows.net/mlflow"),
    ("/Volumes/main/modelscale/mlflow", "dbfs:/Volumes/main/modelscale/mlflow"),
])
def test_artifact_uris_pass_through(location: str, expected: str) -> None:
    assert artifact_root(location) == expected


def test_a_local_artifact_folder_is_created_and_given_as_a_file_uri(tmp_path: Path) -> None:
    assert artifact_root(str(tmp_path / "a")) == (tmp_path / "a").as_uri()
    assert (tmp_path / "a").is_dir()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[MlflowClient]:
    """A client of a SQLite tracking store and registry in ``tmp_path``; the previous URIs are restored after."""
    before = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield MlflowClient()
    mlflow.set_tracking_uri(before[0])
    mlflow.set_registry_uri(before[1])


def test_newest_version_needs_no_order_by_and_reads_every_page(
    registry: MlflowClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As Unity Catalog's registry: ``order_by`` refused, pages of two versions; the newest is the highest number."""
    client = registry
    client.create_registered_model("m")
    for _ in range(5):
        client.create_model_version("m", source=(tmp_path / "model").as_uri())
    search = MlflowClient.search_model_versions

    def like_unity_catalog(self: MlflowClient, *args: Any, order_by: list[str] | None = None,
                           max_results: int = 2, **kwargs: Any) -> Any:
        assert order_by is None, "Unity Catalog's registry refuses order_by"
        return search(self, *args, max_results=min(max_results, 2), **kwargs)

    monkeypatch.setattr(MlflowClient, "search_model_versions", like_unity_catalog)
    newest = _newest_version("m")
    assert newest is not None and int(newest.version) == 5
    assert _newest_version("none") is None
