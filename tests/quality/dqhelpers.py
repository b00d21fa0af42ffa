"""Helper for the quality tests: checks from plain dicts."""

from __future__ import annotations

from typing import Any

from modelscale.config.validation import ExpectationSpec
from modelscale.quality.suites import Check, build_check


def checks(*specs: dict[str, Any], parameters: dict[str, Any] | None = None) -> list[Check]:
    """Build checks from ``{"type":..., "kwargs":..., "severity":..., "name":...}`` dicts."""
    return [build_check(ExpectationSpec(**s), (parameters or {}).__getitem__) for s in specs]
