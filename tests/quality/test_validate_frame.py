"""One-pass validation of DataFrames: outcomes, severities, quarantine split, table rules, GX fallback."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from dqhelpers import checks

from modelscale.errors import ConservationError
from modelscale.quality.validate import validation

# Spark jobs of one pass (adaptive execution runs each shuffle stage as its own job):
ONE_PASS_JOBS = 3  # the aggregate pass: scan + partial aggregates, the distinct-values regroup, the result

ROWS = [
    (1, "AA", "N123AA", 100.0, 5.0, 10),
    (2, "ZZ", "X1", 200.0, None, 20),
    (3, "B6", None, -5.0, 7.0, 30),
    (3, "AA", "N9", 300.0, 9.0, 40),
]
SCHEMA = "id int, carrier string, tailnum string, distance double, air_time double, arr_time int"


@pytest.fixture(scope="module")
def df(spark):
    return spark.createDataFrame(ROWS, SCHEMA)


def test_all_pass_quarantines_nothing(df):
    suite = checks(
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "carrier"}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "distance", "min_value": -10}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": 10}},
    )
    with validation(df, "t", suite) as v:
        assert [o.success for o in v.outcomes] == [True, True, True]
        assert v.ok and (v.rows, v.failing_rows) == (4, 0)
        assert v.failing().count() == 0
        assert_df_equality(v.passing(), df, ignore_row_order=True)


def test_warn_failure_is_reported_but_rows_pass(df):
    suite = checks({"type": "expect_column_values_to_match_regex", "kwargs": {"column": "tailnum", "regex": "^N"},
                    "severity": "warn"})
    with validation(df, "t", suite) as v:
        (o,) = v.outcomes
        assert not o.success and not o.blocking and v.ok
        assert (o.unexpected_count, o.element_count, o.unexpected_percent) == (1, 3, pytest.approx(100 / 3))
        assert v.failing_rows == 0
        assert_df_equality(v.passing(), df, ignore_row_order=True)


def test_error_failures_quarantine_rows_with_the_rules_they_broke(spark, df):
    suite = checks(
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "carrier", "value_set": ["AA", "B6"]}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "distance", "min_value": 0, "strict_min": True}, "name": "distance_positive"},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "tailnum", "regex": "^N"},
         "severity": "warn"},
    )
    with validation(df, "t", suite) as v:
        assert [o.success for o in v.outcomes] == [False, False, False, False]
        assert [o.unexpected_count for o in v.outcomes] == [1, 1, 2, 1]
        assert not v.ok and (v.rows, v.failing_rows) == (4, 3)
        expected = spark.createDataFrame(
            [(2, "ZZ", "X1", 200.0, None, 20, ["expect_column_values_to_be_in_set(carrier)",
                                                "expect_column_values_to_match_regex(tailnum)"]),
             (3, "B6", None, -5.0, 7.0, 30, ["distance_positive", "expect_column_values_to_be_unique(id)"]),
             (3, "AA", "N9", 300.0, 9.0, 40, ["expect_column_values_to_be_unique(id)"])],
            SCHEMA + ", _dq_failed array<string>")
        assert_df_equality(v.failing(), expected, ignore_row_order=True, ignore_nullable=True)
        assert_df_equality(v.passing(), spark.createDataFrame([ROWS[0]], SCHEMA), ignore_nullable=True)
        v.check_conserved(quarantined=3)
        with pytest.raises(ConservationError, match="table t: validated 4 rows but 1 passed and 2"):
            v.check_conserved(quarantined=2)


def test_mostly_decides_pass_but_every_failing_row_is_flagged_and_row_condition_limits_domain(spark, df):
    suite = checks({"type": "expect_column_values_to_not_be_null", "name": "air_time_when_arrived",
                    "kwargs": {"column": "air_time", "row_condition": "arr_time >= 20",
                               "condition_parser": "spark", "mostly": 0.6}})
    with validation(df, "t", suite) as v:
        (o,) = v.outcomes
        assert o.success and (o.unexpected_count, o.element_count) == (1, 3)
        assert [r.id for r in v.failing().collect()] == [2]


def test_compound_unique_flags_every_duplicate(spark):
    frame = spark.createDataFrame([("AA", 1, "JFK"), ("AA", 1, "JFK"), ("AA", 1, "LGA"), (None, None, None)],
                                  "carrier string, flight int, origin string")
    suite = checks({"type": "expect_compound_columns_to_be_unique",
                    "kwargs": {"column_list": ["carrier", "flight", "origin"]}})
    with validation(frame, "t", suite) as v:
        assert (v.outcomes[0].unexpected_count, v.outcomes[0].element_count) == (2, 3)
        assert sorted(r.origin for r in v.failing().collect()) == ["JFK", "JFK"]


TABLE_SUITE = [
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 5}},
    {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["id", "carrier"], "exact_match": False}},
    {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["id", "nope"]}, "name": "exact_set"},
    {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "distance", "min_value": 100, "max_value": 200}},  # mean 148.75
    {"type": "expect_column_max_to_be_between", "kwargs": {"column": "distance", "max_value": 250}},
    {"type": "expect_column_quantile_values_to_be_between", "kwargs": {
        "column": "air_time", "quantile_ranges": {"quantiles": [0.0, 1.0], "value_ranges": [[5, 5], [8, 10]]}}},
    {"type": "expect_column_distinct_values_to_be_in_set", "kwargs": {"column": "carrier", "value_set": ["AA", "B6"]}},
    {"type": "expect_column_distinct_values_to_contain_set", "kwargs": {"column": "carrier", "value_set": ["AA"]}},
    {"type": "expect_column_proportion_of_non_null_values_to_be_between",
     "kwargs": {"column": "tailnum", "min_value": 0.75}},
]
ROW_SUITE = [
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "carrier", "value_set": ["AA", "B6"]}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "distance", "min_value": 0}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "tailnum"}, "severity": "warn"},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "tailnum", "regex": "^N"}},
    {"type": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "carrier", "min_value": 2}},
]
UNIQUE = {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["id", "carrier"]}}


def _spark_jobs(spark, frame, suite):
    """Outcomes of validating ``frame`` and the number of Spark jobs the validation ran (on entry)."""
    tracker, group = spark.sparkContext.statusTracker(), f"dq-jobs-{len(suite)}-{id(suite)}"
    spark.sparkContext.setJobGroup(group, "validation jobs")
    try:
        with validation(frame, "t", suite) as v:
            jobs = len(tracker.getJobIdsForGroup(group))
            return v, jobs
    finally:
        spark.sparkContext.setJobGroup("", "")


def test_table_level_expectations(df):
    with validation(df, "t", checks(*TABLE_SUITE)) as v:
        got = [(o.success, o.observed) for o in v.outcomes]
    assert got[0] == (False, 4)
    assert got[1][0] is True and got[2][0] is False and got[2][1]["missing"] == ["nope"]
    assert got[3] == (True, 148.75)
    assert got[4] == (False, 300.0)
    assert got[5] == (True, {"quantiles": [0.0, 1.0], "values": [5.0, 9.0]})
    assert got[6] == (False, "1 distinct values outside the set, e.g. 'ZZ'")
    assert got[7][0] is True
    assert got[8] == (True, 0.75)


def test_spark_jobs_do_not_grow_with_the_number_of_expectations(spark, df):
    """Validation (outcomes + counts) is one aggregate pass, whatever the number of expectations.

    Spark splits a pass into jobs (adaptive execution runs each shuffle stage as its own job), so the
    numbers are what a single pass costs here; what matters is that 2 and 14 (15) expectations cost the
    same. A distinct-values aggregate adds a regroup stage to the pass (not a scan), so both suites have one;
    a uniqueness rule whose keys do not repeat rides on that stage too (the distinct count of its key hash).
    """
    one_pass = _spark_jobs(spark, df, checks(TABLE_SUITE[6], ROW_SUITE[0]))[1]  # with a distinct-values one
    _, all_of_them = _spark_jobs(spark, df, checks(*TABLE_SUITE, *ROW_SUITE))
    assert one_pass == all_of_them == ONE_PASS_JOBS, (one_pass, all_of_them)
    with_unique = _spark_jobs(spark, df, checks(TABLE_SUITE[6], UNIQUE))[1]
    _, all_with_unique = _spark_jobs(spark, df, checks(*TABLE_SUITE, *ROW_SUITE, UNIQUE))
    assert with_unique == all_with_unique == ONE_PASS_JOBS, (with_unique, all_with_unique)


def test_freshness_with_a_date_bound(spark):
    frame = spark.createDataFrame([(dt.date(2013, 1, 1),), (dt.date(2013, 1, 2),)], "obs_date date")
    suite = checks({"type": "expect_column_max_to_be_between",
                    "kwargs": {"column": "obs_date", "min_value": {"$PARAMETER": "run_date"}}},
                   parameters={"run_date": dt.date(2013, 1, 3)})
    with validation(frame, "t", suite) as v:
        assert (v.outcomes[0].success, v.outcomes[0].observed) == (False, dt.date(2013, 1, 2))


def test_gx_runs_what_we_do_not_compute_and_nothing_stays_persisted(spark, df):
    suite = checks({"type": "expect_column_values_to_be_increasing", "kwargs": {"column": "arr_time"}},
                   {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "carrier"}})
    before = set(spark.sparkContext._jsc.getPersistentRDDs().keySet())  # other tests' caches share the session
    with validation(df, "t", suite) as v:
        assert [o.success for o in v.outcomes] == [True, True]
        assert not v.flagged.is_cached and not df.is_cached
        # GX released its persist; no unique rule, so no cache of ours either
        assert set(spark.sparkContext._jsc.getPersistentRDDs().keySet()) == before
    assert not df.is_cached


def test_no_failing_rows_means_no_quarantine_scan(spark, df):
    suite = checks({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}})
    with validation(df, "t", suite) as v:
        assert v.failing_rows == 0
        plan = v.failing()._jdf.queryExecution().optimizedPlan().toString()
        assert "LocalRelation" in plan and "LogicalRDD" not in plan and v.failing().count() == 0
