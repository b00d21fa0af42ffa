"""Pin the input tables of a job to versions and check they passed validation."""

from __future__ import annotations

from modelscale.errors import TableError
from modelscale.jobs.context import JobContext
from modelscale.logs import get_logger

log = get_logger("features.inputs")


def pin_versions(ctx: JobContext, tables: list[str], pinned: dict[str, int] | None = None) -> dict[str, int]:
    """The version each input is read at: ``pinned`` when given (reproduce), else the latest.

    Every version is checked with the validation gate (``modelscale.quality.gate.check_usable``);
    ``--allow-failed-validation`` overrides it (the gate logs that).
    """
    versions: dict[str, int] = {}
    for name in tables:
        version = (pinned or {}).get(name, ctx.lakehouse.version(name))
        if version is None:
            raise TableError(f"input table {name!r} does not exist yet at {ctx.lakehouse.location(name)}: "
                             "run the job that writes it first")
        versions[name] = version
    _check_validation(ctx, versions)
    return versions


def validation_summary(ctx: JobContext, versions: dict[str, int]) -> dict[str, object] | None:
    """Per input table: its version and the error-severity expectations its last validation failed
    (None when the validation layer is not installed)."""
    try:
        from modelscale.quality.gate import failed_expectations
    except ImportError:
        return None
    return {name: {"version": v, "failed_expectations": failed_expectations(ctx.lakehouse, name, v)}
            for name, v in versions.items()}


def _check_validation(ctx: JobContext, versions: dict[str, int]) -> None:
    try:
        from modelscale.quality.gate import check_usable
    except ImportError:
        log.warning("validation gate not installed (modelscale.quality.gate): inputs used unchecked")
        return
    override = bool(ctx.flags.get("allow_failed_validation", False))
    for name, version in versions.items():
        check_usable(ctx.lakehouse, name, version, override=override)
