"""The result of one expectation, in our terms and as a GX validation result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from great_expectations.core.expectation_validation_result import ExpectationValidationResult

from modelscale.quality.suites import Check


@dataclass(frozen=True)
class Outcome:
    """Pass/fail of one check, its observed value and (row-level) unexpected counts."""

    check: Check
    success: bool
    observed: Any = None
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    error: str | None = None

    @property
    def blocking(self) -> bool:
        """Failed at ``error`` severity: the validation as a whole fails."""
        return not self.success and self.check.severity == "error"

    def describe(self) -> str:
        """One line: name, severity, observed value and unexpected count."""
        parts = [f"{self.check.name} [{self.check.severity}]"]
        if self.error:
            parts.append(f"error: {self.error}")
        if self.observed is not None:
            parts.append(f"observed {self.observed}")
        if self.unexpected_count is not None:
            parts.append(f"{self.unexpected_count:,} unexpected of {self.element_count:,} "
                         f"({self.unexpected_percent or 0:.2f}%)")
        return " ".join(parts)

    def to_gx(self) -> ExpectationValidationResult:
        """A GX result (for Data Docs) carrying the same numbers."""
        result: dict[str, Any] = {}
        if self.observed is not None:
            result["observed_value"] = self.observed if isinstance(self.observed, int | float | str) else str(self.observed)
        if self.unexpected_count is not None:
            result |= {"element_count": self.element_count, "unexpected_count": self.unexpected_count,
                       "unexpected_percent": self.unexpected_percent, "partial_unexpected_list": []}
        return ExpectationValidationResult(
            success=self.success, expectation_config=self.check.expectation.configuration, result=result,
            exception_info={"raised_exception": self.error is not None, "exception_message": self.error,
                            "exception_traceback": None},
        )
