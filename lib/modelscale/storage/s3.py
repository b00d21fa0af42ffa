"""`S3Settings` (``storage.s3``) in the words of each client that reaches S3: Spark's S3A connector (Hadoop
settings), delta-rs (``storage_options``), pyarrow (the driver's file access and the delta-rs engine's tasks)
and MLflow (boto3, through the environment).

The settings are the process's (`configure`): one storage per job, as MLflow's tracking URI is one per process.
Python code that runs outside the driver's process (a data source's tasks and commit) gets them with
`to_option`/`from_option`: a write option, named so that Spark's redaction (``spark.redaction.regex``) hides it
wherever Spark prints options; a write's event log holds no trace of it (checked by hand, with keys set).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyarrow import fs as pafs

from modelscale.config.models import S3Settings
from modelscale.logs import get_logger

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = get_logger("storage")

SCHEMES = ("s3", "s3a", "s3n")  # Hadoop's names for S3; pyarrow, delta-rs and MLflow say s3
OPTION = "s3_credentials"  # the data source option carrying the settings: named so that Spark redacts it
_current: S3Settings | None = None


def configure(settings: S3Settings | None) -> None:
    """Make ``settings`` the process's S3 settings."""
    global _current
    _current = settings


def use(spark: SparkSession, settings: S3Settings | None) -> None:
    """Make ``settings`` the process's (`configure`) and the session's: S3A reads them from the session's runtime
    conf (`hadoop_conf`), which any session takes, one spark-submit or Spark Connect started included. Spark's
    redaction (``spark.redaction.regex``) hides the keys in the UI and event logs."""
    configure(settings)
    if settings is None:
        return
    for key, value in hadoop_conf(settings).items():
        try:
            spark.conf.set(key, value)
        except Exception as exc:  # a session that forbids it (serverless): its own storage access applies
            log.warning("storage.s3: the session refused %s (%s); S3A uses the session's own settings", key,
                        type(exc).__name__)


def current() -> S3Settings | None:
    """The process's S3 settings (None: each client's defaults)."""
    return _current


def is_s3(uri: str) -> bool:
    return uri.split("://", 1)[0].lower() in SCHEMES if "://" in uri else False


def plain(uri: str) -> str:
    """``s3a://b/k`` as ``s3://b/k``, the scheme pyarrow, delta-rs and MLflow know."""
    return "s3://" + uri.split("://", 1)[1] if is_s3(uri) else uri


def hadoop_conf(settings: S3Settings) -> dict[str, str]:
    """S3A's settings, as a running session takes them (``spark.conf.set``, without ``spark.hadoop.``). ``s3://``
    paths go to S3A too, so one URI serves Spark and the Python clients."""
    conf = {"fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
            "fs.s3a.path.style.access": str(settings.path_style).lower()}
    if settings.endpoint:
        conf |= {"fs.s3a.endpoint": settings.endpoint,
                 "fs.s3a.connection.ssl.enabled": str(settings.endpoint.startswith("https://")).lower()}
    if settings.region:
        conf["fs.s3a.endpoint.region"] = settings.region
    if settings.access_key and settings.secret_key:
        conf |= {"fs.s3a.access.key": settings.access_key, "fs.s3a.secret.key": settings.secret_key}
        provider = "SimpleAWSCredentialsProvider"
        if settings.session_token:
            conf["fs.s3a.session.token"] = settings.session_token
            provider = "TemporaryAWSCredentialsProvider"
        conf["fs.s3a.aws.credentials.provider"] = f"org.apache.hadoop.fs.s3a.{provider}"
    return conf


def delta_options(settings: S3Settings | None) -> dict[str, str] | None:
    """delta-rs ``storage_options``. Commits are put only if absent (``conditional_put``: S3, MinIO and R2 honour
    it), so delta-rs needs no lock table for concurrent writers."""
    if settings is None:
        return None
    options = {"AWS_CONDITIONAL_PUT": "etag",
               "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": str(not settings.path_style).lower()}
    if settings.endpoint:
        options |= {"AWS_ENDPOINT_URL": settings.endpoint,
                    "AWS_ALLOW_HTTP": str(settings.endpoint.startswith("http://")).lower()}
    if settings.region:
        options["AWS_REGION"] = settings.region
    options |= _keys(settings)
    return options


def arrow_filesystem(settings: S3Settings) -> pafs.S3FileSystem:
    """pyarrow's S3 file system for ``settings`` (paths are then ``bucket/key``)."""
    kwargs: dict[str, object] = {"force_virtual_addressing": not settings.path_style}
    if settings.endpoint:
        scheme, _, host = settings.endpoint.partition("://")
        kwargs |= {"endpoint_override": host, "scheme": scheme}
    if settings.region:
        kwargs["region"] = settings.region
    if settings.access_key and settings.secret_key:
        kwargs |= {"access_key": settings.access_key, "secret_key": settings.secret_key,
                   "session_token": settings.session_token}
    return pafs.S3FileSystem(**kwargs)


def mlflow_env(settings: S3Settings) -> dict[str, str]:
    """The variables MLflow's S3 artifact store (boto3) reads: its endpoint, region and keys."""
    env = {"MLFLOW_S3_ENDPOINT_URL": settings.endpoint} if settings.endpoint else {}
    if settings.region:
        env["AWS_DEFAULT_REGION"] = settings.region
    return env | _keys(settings)


def to_option(settings: S3Settings | None) -> str:
    return settings.model_dump_json() if settings is not None else ""


def from_option(text: str) -> S3Settings | None:
    return S3Settings.model_validate_json(text) if text else None


def _keys(settings: S3Settings) -> dict[str, str]:
    if not (settings.access_key and settings.secret_key):
        return {}
    keys = {"AWS_ACCESS_KEY_ID": settings.access_key, "AWS_SECRET_ACCESS_KEY": settings.secret_key}
    return keys | ({"AWS_SESSION_TOKEN": settings.session_token} if settings.session_token else {})
