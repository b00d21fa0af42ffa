"""Read a validated table without the rows its validation quarantined: only passing rows flow on.

A validation leaves the rows that broke an ``error`` row rule in their table and copies them to the
table's quarantine. A job reading a table that has a suite pins the quarantine's version next to the
table's (`quarantine_versions`, so a Txn or a reproduced run sees the same exclusions) and reads
through `read_passing`: the rows matching its predicate minus those whose primary key
(`PipelineConfig.primary_key`) is among the quarantined rows matching the same predicate, a left
anti join against the quarantine's keys, broadcast since a quarantine is small.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from functools import reduce
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from modelscale.config.models import PipelineConfig
from modelscale.errors import ConfigError
from modelscale.logs import get_logger

if TYPE_CHECKING:
    from modelscale.delta import Lakehouse

log = get_logger("quality.passing")


def quarantine_of(pipeline: PipelineConfig, table: str) -> str | None:
    """The quarantine table of ``table``'s suite; None when the table has no suite."""
    suite = pipeline.validation.suites.get(table)
    return suite.quarantine(table) if suite else None


def quarantine_versions(lakehouse: Lakehouse, pipeline: PipelineConfig, tables: Iterable[str],
                        pinned: dict[str, int] | None = None) -> dict[str, int]:
    """Version of each existing quarantine of ``tables``: the latest, or ``pinned``'s when given (a
    reproduced read excludes what the recorded one did, nothing when it recorded no quarantine)."""
    versions: dict[str, int] = {}
    for table in tables:
        name = quarantine_of(pipeline, table)
        if name is None:
            continue
        version = lakehouse.version(name) if pinned is None else pinned.get(name)
        if version is not None:
            versions[name] = version
    return versions


def read_passing(lakehouse: Lakehouse, pipeline: PipelineConfig, table: str, versions: dict[str, int], *,
                 where: str | None = None) -> DataFrame:
    """``table`` at ``versions[table]`` (the rows matching ``where``) without the rows quarantined in the
    quarantine version ``versions`` pins (none pinned: all rows). Logs how many quarantined keys it
    excludes (each matches at most one row: the key is unique in the table)."""
    rows = lakehouse.read(table, version=versions[table], where=where)
    quarantine = quarantine_of(pipeline, table)
    if quarantine is None:
        return rows
    key = pipeline.primary_key(table)
    missing = [c for c in key if c not in rows.columns]
    if missing:
        raise ConfigError(f"primary key of table {table!r}: column(s) {', '.join(missing)} not in the table "
                          f"(columns: {', '.join(rows.columns)})")
    if quarantine not in versions:
        return rows
    aliases = [f"_dq_key{i}" for i in range(len(key))]
    keys = (lakehouse.read(quarantine, version=versions[quarantine], where=where)
            .select(*[F.col(k).alias(a) for k, a in zip(key, aliases, strict=True)]).distinct())
    excluded = keys.count()
    log.info("%s: excluding %d quarantined row(s) (%s version %d)", table, excluded, quarantine, versions[quarantine])
    if not excluded:
        return rows
    on = reduce(operator.and_, [F.col(k).eqNullSafe(F.col(a)) for k, a in zip(key, aliases, strict=True)])
    return rows.join(F.broadcast(keys), on=on, how="left_anti")
