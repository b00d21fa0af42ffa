"""The value types of the Delta layer: idempotency markers, commit results, table facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OPERATION_KEY = "modelscale.operation"  # the real operation of a commit delta-rs made (remote storage; see rs.log)


@dataclass(frozen=True)
class Txn:
    """Idempotent-write marker: the write is skipped when the table already holds ``version`` for ``app_id``."""

    app_id: str
    version: int


@dataclass(frozen=True)
class CommitResult:
    """What one call did to a table: its version afterwards and what changed."""

    table: str
    version: int | None
    committed: bool
    operation: str
    rows_written: int = 0
    files_added: int = 0
    files_removed: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TableInfo:
    """Facts about a table read from its log (no data scan)."""

    name: str
    location: str
    version: int | None
    num_files: int
    num_rows: int | None
    partition_by: list[str]
