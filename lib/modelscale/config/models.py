"""The config schema: environment settings, pipeline declarations and their union.

`Settings` comes from ``conf/base.yaml`` + ``conf/<env>.yaml``; `PipelineConfig` from
``conf/pipelines/<name>.yaml``. Both are strict: an unknown key or a wrong type is an error.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from modelscale.cadence import CRON, Cadence, require_run_date
from modelscale.config.base import StrictModel
from modelscale.config.estimators import ESTIMATORS
from modelscale.config.features import FeaturesConfig
from modelscale.config.modeling import ModelConfig, TrainingConfig
from modelscale.config.monitoring import PREDICTION, MonitoringConfig, ScoringConfig
from modelscale.config.paths import local_only
from modelscale.config.types import check_type_name
from modelscale.config.validation import ValidationConfig
from modelscale.errors import ConfigError
from modelscale.hooks import HookPath
from modelscale.secrets import holds_secret


def _without_credentials(location: str) -> str:
    """Refuse a password or token in a path: paths reach table logs, MLflow's store, Spark plans and the Spark UI,
    where nothing redacts them."""
    if holds_secret(location):
        raise ValueError("a location must not hold a credential: give storage credentials in storage.s3 or "
                         "spark.conf, for example storage.s3.secret_key: ${secret:aws/secret-key}")
    return location


Location = Annotated[str, AfterValidator(_without_credentials)]

# --------------------------------------------------------------------------- settings


class SparkSettings(StrictModel):
    """How the Spark session is found or built."""

    master: str = "local[2]"
    app_name: str = "modelscale"
    connect_url: str | None = None
    shuffle_partitions: int = Field(4, ge=1)
    driver_memory: str = "2g"
    ui_enabled: bool = False
    conf: dict[str, str] = Field(default_factory=dict)
    # The native Delta jars for a session we build: ``auto`` those `make setup` fetched, ``none``, or a folder.
    delta_jars: str = "auto"
    # Spark's S3A connector (s3a://) for a session we build: ``auto`` those `make setup` fetched, ``none``, or a folder.
    s3a_jars: str = "auto"


class DeltaSettings(StrictModel):
    """Which Delta engine to use; ``auto`` picks native when the Delta jars are on the classpath."""

    engine: Literal["auto", "native", "delta-rs"] = "auto"
    target_file_size_mb: int = Field(128, ge=1)
    max_open_files_per_task: int = Field(32, ge=1)


class S3Settings(StrictModel):
    """How to reach S3 or an S3-compatible server (MinIO, Ceph, ...): one set of settings that Spark's S3A
    connector, the delta-rs engine, the driver's file access (landing files) and MLflow's artifacts all take
    (`modelscale.storage.s3`). Unset keys leave each client to its defaults: AWS's endpoint, and credentials from
    the default chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, an instance role). Give keys as
    ``${secret:<scope>/<key>}`` references, never as text in a file."""

    endpoint: str | None = None  # http(s)://host:port of an S3-compatible server; http:// turns TLS off
    region: str | None = None
    path_style: bool = False  # bucket in the path (most S3-compatible servers), not in the host name
    access_key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None

    @field_validator("endpoint")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^/\s]+/?", value):
            raise ValueError("expected http(s)://host[:port], for example http://127.0.0.1:9000")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _keys_in_pairs(self) -> S3Settings:
        if (self.access_key is None) != (self.secret_key is None):
            raise ValueError("give both access_key and secret_key, or neither (the default credential chain)")
        return self


class StorageSettings(StrictModel):
    """Where tables and landing files live: local paths, or any storage URI Spark's Hadoop file systems read
    (``s3a://``, ``abfss://``, ``gs://``, ``dbfs:/``, ``/Volumes/...``).

    A table's location is ``<catalog>.<schema>.<name>`` when ``catalog`` is set (Unity Catalog),
    else ``<root>/<layer>/<name>`` (a local path or a storage URI).
    """

    root: Location
    landing: Location
    catalog: str | None = None
    database: str | None = None
    s3: S3Settings | None = None

    @model_validator(mode="after")
    def _catalog_needs_database(self) -> StorageSettings:
        if self.catalog and not self.database:
            raise ValueError("storage.catalog is set, so storage.database (the schema) is required")
        return self


class MlflowSettings(StrictModel):
    """MLflow tracking and registry; the default is a SQLite store under MODELSCALE_HOME."""

    tracking_uri: str
    registry_uri: str | None = None
    artifact_location: Location
    experiment_prefix: str = "modelscale"
    # ``<catalog>.<schema>`` a one-part model.registered_name is registered under (Unity Catalog's registry names a
    # model ``<catalog>.<schema>.<model>``); none: registered names are used as written.
    model_schema: str | None = None

    @field_validator("model_schema")
    @classmethod
    def _two_parts(cls, value: str | None) -> str | None:
        if value is not None and (len(value.split(".")) != 2 or not all(value.split("."))):
            raise ValueError("expected <catalog>.<schema>, two names joined by one dot")
        return value

    @model_validator(mode="after")
    def _uc_needs_schema(self) -> MlflowSettings:
        if is_unity_catalog_registry(self.registry_uri) and not self.model_schema:
            raise ValueError("registry_uri databricks-uc (Unity Catalog) names models <catalog>.<schema>.<model>: "
                             "set mlflow.model_schema to <catalog>.<schema>")
        return self


class MetricsSettings(StrictModel):
    """Where each job run's Prometheus metrics go (`modelscale.monitoring.prometheus`): the Pushgateway at
    ``pushgateway_url`` when one is set (a ``user:password@`` in it is sent as basic auth), else the file
    ``<textfile_dir>/<pipeline>_<job>.prom`` for node_exporter's textfile collector (default ``<home>/metrics``)."""

    pushgateway_url: str | None = None
    textfile_dir: Annotated[Path | None, local_only(
        "node_exporter's textfile collector reads files on its own machine (metrics.pushgateway_url sends them "
        "elsewhere)")] = None

    @field_validator("pushgateway_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL, for example http://pushgateway:9091")
        return value


def is_unity_catalog_registry(uri: str | None) -> bool:
    """True for Unity Catalog's model registry: ``databricks-uc`` or ``databricks-uc://<profile>``."""
    return uri is not None and (uri == "databricks-uc" or uri.startswith("databricks-uc://"))


class Settings(StrictModel):
    """Environment-level settings: the same pipelines run under any of them."""

    env: str
    home: Path
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    default_pipeline: str | None = None
    spark: SparkSettings = Field(default_factory=SparkSettings)
    delta: DeltaSettings = Field(default_factory=DeltaSettings)
    storage: StorageSettings
    mlflow: MlflowSettings
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)


# --------------------------------------------------------------------------- pipeline


INGEST_LOG = "ingest_log"  # the landing files ingested: shared like the tables ingest writes


class TableConfig(StrictModel):
    """A Delta table addressed by its logical name.

    ``primary_key`` is for tables no source writes (a source's silver table has the source's key).
    ``shared``: whether every pipeline that declares the table writes the same one. By default the tables a
    source's ingest writes (bronze, its quarantine, silver) and ``ingest_log`` are shared (one copy of the
    landing data), and every other table (features, predictions, monitoring, validation quarantines and
    results) belongs to its pipeline (`catalog.Catalog`), so two pipelines never replace each other's rows.
    """

    layer: Literal["bronze", "silver", "gold", "ops"]
    description: str = ""
    location: Location | None = None
    shared: bool | None = None
    partition_by: list[str] = Field(default_factory=list)
    primary_key: list[str] = Field(default_factory=list)
    properties: dict[str, str] = Field(default_factory=dict)
    constraints: dict[str, str] = Field(default_factory=dict)


class DedupeRule(StrictModel):
    """Keep one row per primary key: the latest (or earliest) by ``order_by``."""

    order_by: list[str]
    keep: Literal["latest", "earliest"] = "latest"


class SourceConfig(StrictModel):
    """A landing feed: where its files arrive, their format and schema, and its tables.

    ``derive`` adds silver columns (name -> Spark SQL over the typed columns, e.g. a UTC timestamp from local
    date and time fields); ``silver_transform`` (``package.module:function``, DataFrame and source in,
    DataFrame out) is a Python hook for what SQL cannot say. ``delete_missing`` makes a snapshot source delete
    silver rows absent from a new snapshot.
    """

    format: Literal["csv", "json", "parquet"]
    path: Location
    pattern: str = "*"
    options: dict[str, str | int | bool] = Field(default_factory=dict)
    columns: dict[str, str]
    required: list[str] = Field(default_factory=list)
    primary_key: list[str]
    dedupe: DedupeRule | None = None
    snapshot: bool = False
    allow_schema_evolution: bool = False
    derive: dict[str, str] = Field(default_factory=dict)
    silver_transform: HookPath | None = None
    delete_missing: bool = False
    bronze_table: str
    silver_table: str
    quarantine_table: str | None = None

    @field_validator("columns")
    @classmethod
    def _check_types(cls, columns: dict[str, str]) -> dict[str, str]:
        if not columns:
            raise ValueError("at least one column is required (schemas are explicit, never inferred)")
        return {name: check_type_name(t) for name, t in columns.items()}

    @model_validator(mode="after")
    def _keys_are_columns(self) -> SourceConfig:
        for field in ("required", "primary_key"):
            missing = [c for c in getattr(self, field) if c not in self.columns]
            if missing:
                raise ValueError(f"{field} names columns not in columns: {', '.join(missing)}")
        if self.delete_missing and not self.snapshot:
            raise ValueError("delete_missing applies to snapshot sources only (set snapshot: true)")
        return self

    @property
    def quarantine(self) -> str:
        """Logical name of the quarantine table (``<bronze_table>_quarantine`` by default)."""
        return self.quarantine_table or f"{self.bronze_table}_quarantine"


class ScheduleConfig(StrictModel):
    """When the pipeline runs: its ``cadence`` (run dates every day, or the first day of every month: the landing
    file each run date expects, `modelscale.cadence`), and for a scheduler (Airflow) the ``cron`` schedule (default:
    the cadence's, ``@daily`` or ``@monthly``), start and end dates, catch-up and retries. Training is due on the
    first run date and then on the first run date of every ``train_every_days`` (`orchestration.is_training_day`).
    """

    cadence: Cadence = "daily"
    cron: str
    start_date: dt.date
    end_date: dt.date | None = None
    catchup: bool = False
    retries: int = Field(1, ge=0)
    train_every_days: int = Field(7, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _cron_follows_the_cadence(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("cron"):  # an unknown cadence is reported by its own key
            return {**data, "cron": CRON.get(data.get("cadence", "daily"), CRON["daily"])}
        return data

    @model_validator(mode="after")
    def _start_is_a_run_date(self) -> ScheduleConfig:
        require_run_date(self.start_date, self.cadence, "start_date")
        return self


class PipelineConfig(StrictModel):
    """One pipeline: its sources, tables, schedule, and the features/model/training/validation/scoring/monitoring
    sections."""

    name: str
    description: str = ""
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    tables: dict[str, TableConfig] = Field(default_factory=dict)
    schedule: ScheduleConfig
    features: FeaturesConfig | None = None
    model: ModelConfig | None = None
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)

    @model_validator(mode="after")
    def _source_tables_declared(self) -> PipelineConfig:
        for src_name, src in self.sources.items():
            for key in ("bronze_table", "silver_table"):
                table = getattr(src, key)
                if table not in self.tables:
                    raise ValueError(
                        f"sources.{src_name}.{key}: table {table!r} is not declared under tables"
                    )
        if self.features is not None:
            self._features_consistent(self.features)
        for src_name, src in self.sources.items():
            if src.silver_table in self.tables and self.tables[src.silver_table].primary_key:
                raise ValueError(f"tables.{src.silver_table}.primary_key: the table's key is "
                                 f"sources.{src_name}.primary_key; declare it only there")
        for table in self.validation.suites:
            if not self.primary_key(table):
                raise ValueError(f"validation.suites.{table}: table {table!r} has no primary key (readers match "
                                 f"its quarantined rows by key): declare tables.{table}.primary_key")
        self._own_tables_apart()
        return self

    @model_validator(mode="after")
    def _contributions_supported(self) -> PipelineConfig:
        if not self.scoring.contributions:
            return self
        if self.model is None:
            raise ValueError("scoring.contributions: the pipeline has no model section")
        spec = ESTIMATORS[self.model.estimator]
        if not spec.contributions:
            supported = ", ".join(n for n, s in ESTIMATORS.items() if s.contributions)
            raise ValueError(f"scoring.contributions: model.estimator {spec.name} computes no per-row contributions "
                             f"(supported: {supported}); set scoring.contributions: false or change the estimator")
        return self

    @model_validator(mode="after")
    def _monitored_columns_are_model_columns(self) -> PipelineConfig:
        """monitoring's per-column keys name a model column or the prediction (`MonitoringConfig`)."""
        named = {key: names for key, names in self.monitoring.named().items() if names}
        if not named:
            return self
        if self.model is None:
            raise ValueError(f"monitoring.{next(iter(named))}: the pipeline has no model section, so no column to "
                             "monitor")
        columns = [*self.model.numeric, *self.model.categorical, PREDICTION]
        for key, names in named.items():
            unknown = [n for n in names if n not in columns]
            if unknown:
                raise ValueError(f"monitoring.{key}: {', '.join(unknown)}: neither a model column (model.numeric, "
                                 f"model.categorical) nor {PREDICTION} (monitorable: {', '.join(columns)})")
        return self

    def _own_tables_apart(self) -> None:
        """A shared table named like the pipeline would be the folder of the pipeline's own tables of its layer
        (``<root>/<layer>/<pipeline>/<table>``, `catalog.Catalog`): one table inside another."""
        clash = self.tables.get(self.name)
        if clash is None or clash.location is not None or not self.shared(self.name):
            return
        own = sorted(n for n, t in self.tables.items() if t.layer == clash.layer and not self.shared(n))
        if own:
            raise ValueError(f"tables.{self.name}: the shared {clash.layer} table {self.name!r} is named like the "
                             f"pipeline, whose own {clash.layer} tables ({', '.join(own)}) live in "
                             f"<storage.root>/{clash.layer}/{self.name}/: rename the table or the pipeline")

    def shared(self, table: str) -> bool:
        """Whether ``table`` is one copy for every pipeline that declares it (`TableConfig.shared`; by default the
        tables ingest writes, its sources' bronze, quarantine and silver tables and ``ingest_log``), rather than
        the pipeline's own."""
        declared = self.tables[table].shared
        if declared is not None:
            return declared
        return table == INGEST_LOG or any(table in (s.bronze_table, s.quarantine, s.silver_table)
                                          for s in self.sources.values())

    def _features_consistent(self, features: FeaturesConfig) -> None:
        """The feature tables are declared, the base's key columns exist (where a source declares its columns),
        and the model learns columns the feature table has."""
        named = [("features.table", features.table), ("features.base", features.base),
                 *((f"features.lookups[{i}].table", lk.table) for i, lk in enumerate(features.lookups))]
        for key, table in named:
            if table not in self.tables:
                raise ValueError(f"{key}: table {table!r} is not declared under tables")
        written = {t: f"sources.{n}" for n, src in self.sources.items() for t in (src.bronze_table, src.silver_table)}
        if features.table in written or features.table == features.base:
            raise ValueError(f"features.table: {features.table!r} is {written.get(features.table, 'features.base')}'s "
                             "table; the feature table is a table of its own (e.g. features)")
        base = self.silver_columns(features.base)
        if base is not None:
            for key, columns in (("features.key", features.key), ("features.timestamp", [features.timestamp]),
                                 ("features.date", [features.date]),
                                 *((f"features.windows.{w.name}.by", w.by) for w in features.windows)):
                missing = [c for c in columns if c not in base]
                if missing:
                    raise ValueError(f"{key}: column(s) {', '.join(missing)} not in table {features.base!r} "
                                     f"(columns: {', '.join(sorted(base))})")
        if self.model is None:
            return
        produced = set(features.produced)
        for key, columns in (("model.label", [self.model.label]), ("model.categorical", self.model.categorical),
                             ("model.numeric", self.model.numeric),
                             ("model.slices.columns", self.model.slices.columns if self.model.slices else [])):
            missing = [c for c in columns if c not in produced]
            if missing and features.hook is None:
                raise ValueError(f"{key}: column(s) {', '.join(missing)} not in the feature table "
                                 f"(features produces: {', '.join(sorted(produced))})")

    def silver_columns(self, table: str) -> set[str] | None:
        """The columns of ``table`` when a source declares them (its columns and ``derive``; None for a table no
        source writes, or whose source has a Python transform)."""
        for src in self.sources.values():
            if src.silver_table == table and src.silver_transform is None:
                return {*src.columns, *src.derive}
        return None

    def primary_key(self, table: str) -> list[str]:
        """The key of ``table``: its source's ``primary_key`` for a silver table, else ``tables.<table>.primary_key``."""
        for src in self.sources.values():
            if src.silver_table == table:
                return list(src.primary_key)
        declared = self.tables.get(table)
        return list(declared.primary_key) if declared else []


class AppConfig(StrictModel):
    """What a job runs with: the environment settings and (optionally) one pipeline."""

    settings: Settings
    pipeline: PipelineConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _model_under_schema(cls, data: Any) -> Any:
        """A one-part ``model.registered_name`` goes under ``mlflow.model_schema`` when that is set, so every job,
        gate and table row names the model as the registry does; a name of three parts is used as written."""
        if not isinstance(data, dict) or data.get("pipeline") is None:
            return data
        settings = Settings.model_validate(data["settings"])
        pipeline = PipelineConfig.model_validate(data["pipeline"])
        schema, model = settings.mlflow.model_schema, pipeline.model
        if schema is None or model is None:
            return data
        parts = model.registered_name.count(".") + 1
        if parts == 3:
            return data
        if parts != 1:
            raise ConfigError(f"pipeline {pipeline.name!r}: model.registered_name {model.registered_name!r}: expected "
                              f"a model name (registered as {schema}.<name>, mlflow.model_schema) or "
                              "<catalog>.<schema>.<model>")
        named = model.model_copy(update={"registered_name": f"{schema}.{model.registered_name}"})
        return {**data, "settings": settings, "pipeline": pipeline.model_copy(update={"model": named})}
