"""Champion/challenger: the challenger replaces the champion only when it is better on the same data.

The rule: every floor is met, and (when there is a champion) the challenger's ``metric`` beats the
champion's by at least ``min_improvement``. The first model becomes champion when it meets the floors.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from modelscale.config.modeling import PromotionConfig
from modelscale.training.evaluation import improvement


@dataclass(frozen=True)
class Decision:
    """Whether to promote, why, and the numbers behind it."""

    promote: bool
    reason: str
    metric: str
    challenger: float
    champion: float | None
    min_improvement: float
    failed_floors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def failed_floors(metrics: dict[str, float], cfg: PromotionConfig) -> list[str]:
    """Human-readable floors that ``metrics`` miss (e.g. ``auc_roc 0.55 < min 0.6``)."""
    failed = []
    for f in cfg.floors:
        value = metrics[f.metric]
        if f.min is not None and value < f.min:
            failed.append(f"{f.metric} {value:.4f} < min {f.min}")
        if f.max is not None and value > f.max:
            failed.append(f"{f.metric} {value:.4f} > max {f.max}")
    return failed


def decide(challenger: dict[str, float], champion: dict[str, float] | None, cfg: PromotionConfig,
           metric: str) -> Decision:
    """Apply the promotion rule to the challenger's and champion's metrics on the same test data."""
    failed = failed_floors(challenger, cfg)
    base = {"metric": metric, "challenger": challenger[metric], "min_improvement": cfg.min_improvement,
            "failed_floors": failed, "champion": champion[metric] if champion else None}
    if failed:
        return Decision(promote=False, reason="fails floors: " + "; ".join(failed), **base)
    if champion is None:
        return Decision(promote=True, reason="first model and it meets the floors", **base)
    gain = improvement(metric, challenger[metric], champion[metric])
    if gain > 0 and gain >= cfg.min_improvement:
        return Decision(promote=True, reason=f"beats the champion on {metric} by {gain:.4f}", **base)
    return Decision(promote=False, reason=f"{metric} improvement {gain:.4f} is below the required "
                                          f"{cfg.min_improvement}", **base)
