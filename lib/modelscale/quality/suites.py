"""Config expectations to Great Expectations objects.

Config loading checks specs against the static catalog (`modelscale.quality.catalog`, no GX import);
`Check` is one expectation resolved for a run (suite parameters substituted, arguments parsed by GX's
own expectation model).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.registry import get_expectation_impl

from modelscale.config.validation import ExpectationSpec, Severity
from modelscale.errors import ConfigError

PARAMETER = "$PARAMETER"
_GX_SEVERITY = {"error": "critical", "warn": "warning"}


@dataclass(frozen=True)
class Check:
    """One expectation ready to evaluate: its label, severity, parsed arguments and GX object."""

    name: str
    severity: Severity
    expectation: Expectation

    @property
    def type(self) -> str:
        return self.expectation.expectation_type

    @property
    def kwargs(self) -> dict[str, Any]:
        """Arguments as GX parsed them (dates, floats, conditions), defaults included."""
        return dict(self.expectation.configuration.kwargs)

    def arg(self, key: str, default: Any = None) -> Any:
        """One parsed argument (GX defaults such as ``mostly`` and ``strict_min`` included)."""
        value = getattr(self.expectation, key, default)
        return default if value is None else value


def build_check(spec: ExpectationSpec, parameter: Callable[[str], Any]) -> Check:
    """Resolve suite parameters with ``parameter(name)`` and build the GX expectation."""
    kwargs = resolve(spec.kwargs, parameter)
    try:
        expectation = _instantiate(get_expectation_impl(spec.type), kwargs, spec)
    except Exception as exc:
        raise ConfigError(f"expectation {spec.label}: bad arguments after resolving parameters: {_describe(exc)}") from None
    return Check(name=spec.label, severity=spec.severity, expectation=expectation)


def build_suite(table: str, checks: list[Check]) -> gx.ExpectationSuite:
    """A GX suite named after the table, holding the checks' expectations."""
    return gx.ExpectationSuite(name=suite_name(table), expectations=[c.expectation for c in checks])


def suite_name(table: str) -> str:
    return f"modelscale.{table}"


def resolve(value: Any, parameter: Callable[[str], Any]) -> Any:
    """``value`` with every ``{$PARAMETER: name}`` replaced by ``parameter(name)``."""
    if isinstance(value, Mapping):
        if set(value) == {PARAMETER}:
            return parameter(str(value[PARAMETER]))
        return {k: resolve(v, parameter) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, parameter) for v in value]
    return value


def _instantiate(cls: type[Expectation], kwargs: dict[str, Any], spec: ExpectationSpec) -> Expectation:
    with warnings.catch_warnings():  # string row_condition + condition_parser is deprecated but supported
        warnings.simplefilter("ignore", DeprecationWarning)
        return cls(**kwargs, severity=_GX_SEVERITY[spec.severity], meta={"name": spec.label, "severity": spec.severity})


def _describe(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for err in errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
            parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
        return "; ".join(dict.fromkeys(parts))
    return str(exc)
