"""PSI against hand-computed values, and profiles (bins and counts) on tiny frames."""

from __future__ import annotations

import math

import pytest
from pyspark.sql import SparkSession

from modelscale.monitoring.drift import psi, shares
from modelscale.monitoring.profile import Bins, bin_counts, profile


def test_psi_matches_the_hand_computed_value() -> None:
    # reference shares 0.5/0.3/0.2, current 0.2/0.3/0.5:
    # (0.2-0.5)ln(0.2/0.5) + 0 + (0.5-0.2)ln(0.5/0.2) = 0.6 ln 2.5
    assert psi([50, 30, 20], [2, 3, 5], 1e-4) == pytest.approx(0.6 * math.log(2.5), abs=1e-12)
    assert psi([5, 5], [50, 50], 1e-4) == 0.0


def test_empty_bins_are_floored_at_epsilon() -> None:
    assert shares([0, 4], 0.01) == [0.01, 1.0]
    # bin 1 empty in the current rows: e=(0.5, 0.5), a=(1.0, 0.01)
    expected = (1.0 - 0.5) * math.log(1.0 / 0.5) + (0.01 - 0.5) * math.log(0.01 / 0.5)
    assert psi([1, 1], [3, 0], 0.01) == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError, match="same bins"):
        psi([1, 2], [1, 2, 3], 0.01)


def test_numeric_and_categorical_profiles(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [(1.0, "a"), (2.0, "a"), (3.0, "b"), (4.0, "a"), (None, None), (4.0, "c")], "x double, c string")
    prof = profile(df, ["x"], ["c"], bins=2, max_categories=2)
    x, c = prof["x"], prof["c"]
    assert x.bins.edges == [3.0]  # Spark's median of 1,2,3,4,4 (the 3rd of 5 values)
    assert x.bins.labels == ["(-inf, 3]", "(3, inf]", "null"] and x.counts == [3, 2, 1]
    assert c.bins.values == ["a", "b"] and c.bins.labels == ["a", "b", "other", "null"]
    assert c.counts == [3, 1, 1, 1]


def test_current_rows_use_the_reference_bins_with_unseen_values_as_other(spark: SparkSession) -> None:
    bins = {"x": Bins("numeric", [0.0, 10.0], []), "c": Bins("categorical", [], ["EWR", "JFK"])}
    df = spark.createDataFrame([(-5.0, "EWR"), (0.0, "LGA"), (11.0, "XXX"), (None, "JFK")], "x double, c string")
    counts = bin_counts(df, bins)
    assert counts["x"].counts == [2, 0, 1, 1]
    assert counts["c"].counts == [1, 1, 2, 0]
