"""Locations in config: a storage URI or a local path, and the settings that must be local folders."""

from __future__ import annotations

from typing import Any

from pydantic import BeforeValidator


def is_storage_uri(location: str) -> bool:
    """True for a storage URI (``scheme://...`` or ``dbfs:/...``), False for a local path (``/Volumes/...`` too)."""
    return "://" in location or location.startswith("dbfs:/")


def local_only(reason: str) -> BeforeValidator:
    """A validator refusing a storage URI where only a local folder works, saying ``reason``."""

    def check(value: Any) -> Any:
        if value is not None and is_storage_uri(str(value)):
            raise ValueError(f"expected a local folder, not a storage URI: {reason}")
        return value

    return BeforeValidator(check)
