"""The report's charts without Spark: date axes over short and long histories, bin labels."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from modelscale.monitoring.charts import MAX_DATE_TICKS, bin_names, psi_chart
from modelscale.monitoring.profile import Bins


def tick_labels(dates: list[dt.date]) -> list[str]:
    points = pd.DataFrame({"evaluated_date": dates, "value": [0.1] * len(dates), "breached": [False] * len(dates)})
    return [t.get_text() for t in psi_chart("x", points, 0.2, dates).axes[0].get_xticklabels()]


@pytest.mark.parametrize("days", [1, 2, 5, 30, 180])
def test_each_date_is_labelled_once_on_whole_days(days: int) -> None:
    dates = [dt.date(2013, 1, 1) + dt.timedelta(days=i) for i in range(days)]
    labels = tick_labels(dates)
    assert labels[0] == "Jan 1" and len(labels) == len(set(labels)) <= MAX_DATE_TICKS


def test_a_history_across_new_year_shows_the_year() -> None:
    assert tick_labels([dt.date(2012, 12, 31), dt.date(2013, 1, 1)]) == ["2012-12-31", "2013-01-01"]


def test_bin_names_keep_neighbouring_edges_apart() -> None:
    assert bin_names(Bins("numeric", [3.0, 4.0], [])) == ["≤ 3", "3–4", "> 4", "null"]
    assert bin_names(Bins("numeric", [1012.1, 1012.4, 1020.0], [])) == \
        ["≤ 1012.1", "1012.1–1012.4", "1012.4–1020", "> 1020", "null"]
    assert bin_names(Bins("categorical", [], ["AA", "B6"])) == ["AA", "B6", "other", "null"]
