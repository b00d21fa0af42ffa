"""Point MLflow at the configured tracking store and the pipeline's experiment."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import mlflow

from modelscale.config.models import MlflowSettings, Settings
from modelscale.storage import s3

# A URI scheme (RFC 3986) of two or more characters: ``C:/x`` is a Windows path, not a URI.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
# The experiment tag MLflow 3's UI reads to choose an experiment's view: ``custom_model_development`` opens runs,
# metrics and models; untagged experiments may open on the GenAI view (traces, sessions).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_DEVELOPMENT = "custom_model_development"


def experiment_name(mlflow_settings: MlflowSettings, pipeline: str) -> str:
    """``<experiment_prefix>/<pipeline>``."""
    return f"{mlflow_settings.experiment_prefix}/{pipeline}"


def configure(settings: Settings, pipeline: str) -> str:
    """Set tracking/registry URIs, create the pipeline's experiment if needed; return its id.

    A local SQLite store gets its directory created; new experiments put artifacts under
    ``mlflow.artifact_location/<experiment name>``. Experiments are tagged as model development
    (`EXPERIMENT_KIND_TAG`), also existing ones that have no kind yet. A ``user:password@`` in either URI goes to
    MLflow as credentials (`without_credentials`); ``storage.s3`` reaches MLflow's S3 artifact store (boto3) through
    its environment variables (`s3.mlflow_env`).
    """
    cfg = settings.mlflow
    if settings.storage.s3 is not None:
        os.environ.update(s3.mlflow_env(settings.storage.s3))
    if cfg.tracking_uri.startswith("sqlite:///"):
        Path(cfg.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(without_credentials(cfg.tracking_uri))
    mlflow.set_registry_uri(without_credentials(cfg.registry_uri or cfg.tracking_uri))
    name = experiment_name(cfg, pipeline)
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        mlflow.set_experiment(experiment_id=found.experiment_id)
        if EXPERIMENT_KIND_TAG not in found.tags:
            mlflow.set_experiment_tag(EXPERIMENT_KIND_TAG, MODEL_DEVELOPMENT)
        return found.experiment_id
    location = artifact_root(cfg.artifact_location)
    experiment_id = mlflow.create_experiment(name, artifact_location=f"{location.rstrip('/')}/{name}",
                                             tags={EXPERIMENT_KIND_TAG: MODEL_DEVELOPMENT})
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def artifact_root(location: str) -> str:
    """``mlflow.artifact_location`` as the URI MLflow takes.

    A URI with a scheme (``dbfs:/``, ``s3://``, ``abfss://``, ``file:/``) is passed through, Hadoop's ``s3a://`` as
    the ``s3://`` MLflow knows; a ``/Volumes/...`` path is a Unity Catalog volume and becomes ``dbfs:/Volumes/...``,
    the form Databricks' tracking server takes for volume-backed experiments; any other path is a local folder,
    created here and given as a ``file://`` URI.
    """
    if _SCHEME.match(location):
        return s3.plain(location)
    if location.startswith("/Volumes/"):
        return f"dbfs:{location}"
    Path(location).mkdir(parents=True, exist_ok=True)
    return Path(location).resolve().as_uri()


def without_credentials(uri: str) -> str:
    """``uri`` without its ``user:password@``, which become MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD
    (MLflow's one set of credentials for its tracking and registry servers): MLflow prints the URI it is given (the
    run links of a tracking server on stdout) and quotes it in request errors, never these variables."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    os.environ["MLFLOW_TRACKING_USERNAME"] = unquote(parts.username or "")
    os.environ["MLFLOW_TRACKING_PASSWORD"] = unquote(parts.password)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def dfs_tmpdir(settings: Settings) -> str:
    """Where Spark models are staged between Spark and MLflow (`modelscale.tracking.spark_models`): a local folder
    that Spark reaches too, the Spark Connect server included (same machine or a shared mount)."""
    path = settings.home / "mlflow" / "dfs_tmp"
    path.mkdir(parents=True, exist_ok=True)
    return str(path)
