"""The promotion rule: first model, win, lose, floors; both directions of metric."""

from __future__ import annotations

from modelscale.config.modeling import Floor, PromotionConfig
from modelscale.tracking.promotion import decide

CFG = PromotionConfig(metric="auc_roc", min_improvement=0.01, floors=[Floor(metric="auc_roc", min=0.6)])


def test_first_model_becomes_champion_when_it_meets_the_floors() -> None:
    d = decide({"auc_roc": 0.7}, None, CFG, "auc_roc")
    assert d.promote and d.champion is None and "first model" in d.reason


def test_first_model_below_the_floor_is_not_promoted() -> None:
    d = decide({"auc_roc": 0.55}, None, CFG, "auc_roc")
    assert not d.promote and d.failed_floors == ["auc_roc 0.5500 < min 0.6"]


def test_challenger_wins_by_the_margin() -> None:
    d = decide({"auc_roc": 0.72}, {"auc_roc": 0.70}, CFG, "auc_roc")
    assert d.promote and (d.challenger, d.champion) == (0.72, 0.70)


def test_challenger_loses_when_better_by_less_than_the_margin() -> None:
    d = decide({"auc_roc": 0.705}, {"auc_roc": 0.70}, CFG, "auc_roc")
    assert not d.promote and "below the required 0.01" in d.reason


def test_lower_is_better_metrics_and_ceilings() -> None:
    cfg = PromotionConfig(metric="rmse", min_improvement=1.0, floors=[Floor(metric="rmse", max=40.0)])
    assert decide({"rmse": 30.0}, {"rmse": 32.0}, cfg, "rmse").promote
    assert not decide({"rmse": 31.5}, {"rmse": 32.0}, cfg, "rmse").promote
    assert not decide({"rmse": 45.0}, None, cfg, "rmse").promote
