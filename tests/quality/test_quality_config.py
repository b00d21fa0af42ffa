"""Suites in config: GX checks at load time, errors naming table and expectation, suite files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from modelscale.config import list_pipelines, load_config
from modelscale.config.validation import ValidationConfig
from modelscale.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def _pipeline(tmp_path: Path, body: str) -> Path:
    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf)
    (conf / "pipelines" / "bad.yaml").write_text("extends: flights_delay\n" + body)
    return conf


def test_demo_suites_load():
    suites = load_config("local", "flights_delay").pipeline.validation.suites
    assert suites["flights"].date_column == "flight_date" and len(suites["flights"].expectations) == 10
    assert "weather" in suites and len(suites["features"].expectations) == 12


def test_unknown_expectation_names_table_and_suggests(home, tmp_path):
    conf = _pipeline(tmp_path, "validation: {suites: {flights: {expectations: [{type: expect_column_values_to_be_betwen, "
                               "kwargs: {column: distance, min_value: 0}}]}}}\n")
    with pytest.raises(ConfigError) as err:
        load_config("local", "bad", conf_dir=conf)
    msg = str(err.value)
    assert "suite for table 'flights', expectation #1 expect_column_values_to_be_betwen(distance)" in msg
    assert "unknown expectation type" in msg and "did you mean expect_column_values_to_be_between" in msg


@pytest.mark.parametrize("kwargs, problem", [
    ({"column": "carrier"}, "value_set: field required"),
    ({"column": "carrier", "value_set": ["AA"], "colour": "red"}, "colour: extra fields not permitted"),
])
def test_bad_arguments_name_table_and_expectation(kwargs, problem):
    with pytest.raises(ValueError) as err:
        ValidationConfig.model_validate({"suites": {"flights": {"expectations": [
            {"type": "expect_column_values_to_be_in_set", "kwargs": kwargs}]}}})
    assert "suite for table 'flights', expectation #1 expect_column_values_to_be_in_set(carrier)" in str(err.value)
    assert problem in str(err.value)


def test_strict_keys_and_duplicate_names():
    with pytest.raises(ValueError, match="severity"):
        ValidationConfig.model_validate({"suites": {"t": {"expectations": [
            {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 1}, "severity": "fatal"}]}}})
    with pytest.raises(ValueError, match="the name is used twice"):
        ValidationConfig.model_validate({"suites": {"t": {"expectations": [
            {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 1}}] * 2}}})


def test_suite_file(tmp_path):
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"name": "s", "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}, "severity": "warning"},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}, "meta": {"name": "rows"}},
    ]}))
    suite = ValidationConfig.model_validate({"suites": {"t": {"suite_file": str(path)}}}).suites["t"]
    assert [(s.label, s.severity) for s in suite.all_expectations()] == [
        ("expect_column_values_to_not_be_null(a)", "warn"), ("rows", "error")]
    with pytest.raises(ValueError, match="suite for table 't': suite_file .* does not exist"):
        ValidationConfig.model_validate({"suites": {"t": {"suite_file": str(tmp_path / "nope.json")}}})


def test_features_suite_checks_the_label_of_every_pipeline(home):
    """The feature table's suite covers each pipeline's model label (classifier: label, regression: arr_delay)."""
    for name in list_pipelines():
        pipeline = load_config("local", name).pipeline
        suite = pipeline.validation.suites[pipeline.features.table]
        assert suite.date_column == pipeline.features.date
        assert pipeline.model.label in {s.kwargs.get("column") for s in suite.all_expectations()}, name


def test_a_suite_needs_the_tables_primary_key(home, tmp_path):
    conf = _pipeline(tmp_path, "tables: {features: {primary_key: []}}\n")
    with pytest.raises(ConfigError, match=r"validation\.suites\.features: table 'features' has no primary key .*"
                                          r"declare tables\.features\.primary_key"):
        load_config("local", "bad", conf_dir=conf)
    conf = _pipeline(tmp_path / "again", "tables: {flights: {primary_key: [flight]}}\n")
    with pytest.raises(ConfigError, match=r"tables\.flights\.primary_key: the table's key is sources\.flights\.primary_key"):
        load_config("local", "bad", conf_dir=conf)
