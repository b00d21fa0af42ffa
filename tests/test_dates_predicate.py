"""The run-dates predicate jobs use for reads and replaceWhere."""

from __future__ import annotations

import datetime as dt

from modelscale.context import dates_predicate, dates_span

D = dt.date(2013, 1, 30)


def test_one_day_a_run_of_days_and_scattered_days():
    assert dates_predicate("flight_date", [D]) == "flight_date = '2013-01-30'"
    run = [D + dt.timedelta(days=i) for i in (2, 0, 1, 1)]  # order and repeats do not matter
    assert dates_predicate("flight_date", run) == "flight_date BETWEEN '2013-01-30' AND '2013-02-01'"
    gaps = [D, D + dt.timedelta(days=2)]
    assert dates_predicate("d", gaps) == "d IN ('2013-01-30', '2013-02-01')"


def test_dates_span_names_one_day_or_the_range():
    assert dates_span([D]) == "2013-01-30"
    assert dates_span([D, D + dt.timedelta(days=2)]) == "2013-01-30..2013-02-01"
