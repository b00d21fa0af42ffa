"""Pin the input tables of a job to versions and check they passed validation."""

from __future__ import annotations

from modelscale.config.features import FeaturesConfig
from modelscale.context import JobContext
from modelscale.errors import ConfigError, TableError
from modelscale.quality.gate import check_usable, failed_expectations
from modelscale.quality.passing import quarantine_versions


def features_config(ctx: JobContext) -> FeaturesConfig:
    """The pipeline's ``features`` section; a clear error when it has none."""
    if ctx.pipeline.features is None:
        raise ConfigError(f"pipeline {ctx.pipeline.name!r} has no features section")
    return ctx.pipeline.features


def pin_versions(ctx: JobContext, tables: list[str], pinned: dict[str, int] | None = None) -> dict[str, int]:
    """The version each input is read at: ``pinned`` when given (reproduce), else the latest; plus the
    version of each input's quarantine (`quality.passing.quarantine_versions`: reads leave its rows out).

    Every input version is checked with the validation gate (`modelscale.quality.gate.check_usable`);
    ``--allow-failed-validation`` overrides it (the gate logs that).
    """
    versions: dict[str, int] = {}
    override = bool(ctx.flags.get("allow_failed_validation", False))
    for name in tables:
        version = (pinned or {}).get(name, ctx.lakehouse.version(name))
        if version is None:
            raise TableError(f"input table {name!r} does not exist yet at {ctx.lakehouse.location(name)}: "
                             "run the job that writes it first")
        check_usable(ctx.lakehouse, name, version, override=override)
        versions[name] = version
    return versions | quarantine_versions(ctx.lakehouse, ctx.pipeline, tables, pinned)


def validation_summary(ctx: JobContext, tables: dict[str, int]) -> dict[str, object]:
    """Per input table (name -> version): its version and the error-severity expectations its last
    validation failed."""
    return {name: {"version": v, "failed_expectations": failed_expectations(ctx.lakehouse, name, v)}
            for name, v in tables.items()}
