"""Config loading: good files resolve, bad ones fail naming the file and key path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from modelscale.catalog import Catalog
from modelscale.config import load_config, list_pipelines
from modelscale.errors import ConfigError

REPO_CONF = Path(__file__).resolve().parents[1] / "conf"


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    """A writable copy of the repository's conf/ to break on purpose."""
    dst = tmp_path / "conf"
    shutil.copytree(REPO_CONF, dst)
    return dst


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_every_env_and_pipeline_in_the_repo_loads(home: Path) -> None:
    pipelines = list_pipelines(REPO_CONF)
    assert "flights_delay" in pipelines
    for env in ("local", "cluster", "databricks"):
        for name in pipelines:
            cfg = load_config(env, name, REPO_CONF)
            assert cfg.settings.env == env
            assert cfg.pipeline is not None and cfg.pipeline.name == name


def test_local_state_lives_under_modelscale_home(home: Path) -> None:
    st = load_config("local", None, REPO_CONF).settings
    assert st.home == home
    assert st.storage.root == f"{home}/lakehouse"
    assert st.storage.landing == f"{home}/landing"
    assert st.mlflow.tracking_uri == f"sqlite:///{home}/mlflow/mlflow.db"


def test_environment_variables_override_typed_values(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSCALE__SPARK__SHUFFLE_PARTITIONS", "7")
    monkeypatch.setenv("MODELSCALE__DELTA__ENGINE", "delta-rs")
    st = load_config("local", None, REPO_CONF).settings
    assert st.spark.shuffle_partitions == 7
    assert st.delta.engine == "delta-rs"


def test_misspelt_env_variable_is_an_unknown_key(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSCALE__SPARK__SHUFLE_PARTITIONS", "7")
    with pytest.raises(ConfigError, match=r"environment variables: spark\.shufle_partitions: unknown key"):
        load_config("local", None, REPO_CONF)


def test_pipeline_environment_variables_override_the_pipeline_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSCALE__PIPELINE__TRAINING__SEARCH__METHOD", "none")
    monkeypatch.setenv("MODELSCALE__PIPELINE__TRAINING__SPLIT", "{window_days: 12, validation_days: 1}")
    training = load_config("local", "flights_delay", REPO_CONF).pipeline.training
    assert training.search.method == "none"
    assert (training.split.window_days, training.split.validation_days, training.split.test_days) == (12, 1, 4)
    monkeypatch.setenv("MODELSCALE__PIPELINE__TRAINING__SERCH__METHOD", "none")
    with pytest.raises(ConfigError, match=r"environment variables \(MODELSCALE__PIPELINE__\.\.\.\): "
                                          r"training\.serch: unknown key"):
        load_config("local", "flights_delay", REPO_CONF)


def test_packaged_conf_is_the_default_outside_a_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No MODELSCALE_CONF and no ./conf: the conf inside the package (an installed wheel carries it)."""
    import modelscale
    from modelscale.config.loader import default_conf_dir

    monkeypatch.delenv("MODELSCALE_CONF", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_conf_dir() == (Path(modelscale.__file__).parent / "conf").resolve()
    assert (default_conf_dir() / "pipelines" / "flights_delay.yaml").is_file()
    monkeypatch.setenv("MODELSCALE_CONF", str(tmp_path))
    assert default_conf_dir() == tmp_path.resolve()


def test_typo_in_pipeline_key_names_file_and_key_path(home: Path, conf: Path) -> None:
    p = conf / "pipelines" / "flights_delay.yaml"
    _edit(p, lambda d: d["sources"]["flights"].__setitem__("fromat", d["sources"]["flights"].pop("format")))
    with pytest.raises(ConfigError) as err:
        load_config("local", "flights_delay", conf)
    text = str(err.value)
    assert f"{p}: sources.flights.fromat: unknown key" in text
    assert "sources.flights.format: required key is missing" in text


def test_wrong_type_in_env_overlay_names_the_overlay_file(home: Path, conf: Path) -> None:
    _edit(conf / "local.yaml", lambda d: d["spark"].__setitem__("shuffle_partitions", "many"))
    with pytest.raises(ConfigError) as err:
        load_config("local", None, conf)
    assert f"{conf / 'local.yaml'}: spark.shuffle_partitions:" in str(err.value)
    assert "'many'" in str(err.value)


def test_unknown_column_type_is_named(home: Path, conf: Path) -> None:
    _edit(conf / "pipelines" / "flights_delay.yaml",
          lambda d: d["sources"]["flights"]["columns"].__setitem__("distance", "dubble"))
    with pytest.raises(ConfigError, match=r"sources\.flights\.columns: unknown column type 'dubble'"):
        load_config("local", "flights_delay", conf)


def test_source_table_must_be_declared(home: Path, conf: Path) -> None:
    _edit(conf / "pipelines" / "flights_delay.yaml", lambda d: d["tables"].pop("flights_bronze"))
    with pytest.raises(ConfigError, match=r"sources\.flights\.bronze_table: table 'flights_bronze' is not declared"):
        load_config("local", "flights_delay", conf)


def test_primary_key_must_be_a_declared_column(home: Path, conf: Path) -> None:
    _edit(conf / "pipelines" / "flights_delay.yaml",
          lambda d: d["sources"]["planes"].__setitem__("primary_key", ["tail_number"]))
    with pytest.raises(ConfigError, match=r"primary_key names columns not in columns: tail_number"):
        load_config("local", "flights_delay", conf)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["model"].__setitem__("estimator", "gbt_classifer"),
     r"model.estimator: .*unknown estimator 'gbt_classifer' \(known: logistic_regression, "),
    (lambda d: d["sources"]["flights"].__setitem__("silver_transform", "flights"),
     r"sources.flights.silver_transform: .*hook 'flights': expected package.module:function"),
    (lambda d: d["features"].__setitem__("hook", "my_features:add_more"),
     r"features.hook: .*hook 'my_features:add_more': cannot import 'my_features'"),
    (lambda d: d["features"].__setitem__("base", "flight"),
     r"features.base: table 'flight' is not declared under tables"),
    (lambda d: d["features"].__setitem__("table", "flights"),
     r"features.table: 'flights' is sources.flights's table"),
    (lambda d: d["features"].__setitem__("date", "fl_date"),
     r"features.date: column\(s\) fl_date not in table 'flights' \(columns: air_time, arr_delay, "),
    (lambda d: d["features"]["windows"][1].__setitem__("by", ["origin", "destination"]),
     r"features.windows.route_delay_rate.by: column\(s\) destination not in table 'flights'"),
    (lambda d: d["model"]["numeric"].append("carrier_delay_rate_14d"),
     r"model.numeric: column\(s\) carrier_delay_rate_14d not in the feature table \(features produces: "),
    (lambda d: d["model"].__setitem__("label", "late"),
     r"model.label: column\(s\) late not in the feature table"),
    (lambda d: d["features"]["lookups"][1].pop("max_age_hours"),
     r"features.lookups.1: .*an as-of lookup sets both timestamp and max_age_hours"),
    (lambda d: d["features"]["columns"].__setitem__("label", "1.0"),
     r"features: .*column\(s\) label produced more than once"),
    (lambda d: d["model"]["slices"].__setitem__("metric", "rmse"),
     r"flights_delay.yaml: model: slices.metric: 'rmse' is not a classification metric \(one of: auc_roc, "),
    (lambda d: d["model"]["slices"].__setitem__("columns", ["carrier", "airline"]),
     r"model.slices.columns: column\(s\) airline not in the feature table"),
    (lambda d: d["model"]["slices"].__setitem__("columns", ["label"]),
     r"model: slices.columns: 'label' is the label"),
    (lambda d: d["model"]["slices"].__setitem__("gap", 0.1),
     r"flights_delay.yaml: model.slices.gap: unknown key"),
    (lambda d: d["model"]["slices"].__setitem__("max_gap", 0),
     r"model.slices.max_gap: Input should be greater than 0"),
])
def test_a_feature_or_model_reference_that_cannot_be_is_refused_at_load(home: Path, conf: Path, change,
                                                                         message: str) -> None:
    """Names the config could resolve without data are checked when it loads: exit 2 before any Spark work."""
    p = conf / "pipelines" / "flights_delay.yaml"
    _edit(p, change)
    with pytest.raises(ConfigError, match=message):
        load_config("local", "flights_delay", conf)


def test_invalid_yaml_and_unknown_env_and_pipeline(home: Path, conf: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'prod'.*known: cluster, databricks, local"):
        load_config("prod", None, conf)
    with pytest.raises(ConfigError, match=r"unknown pipeline 'nope'.*known: flights_arr_delay, flights_delay"):
        load_config("local", "nope", conf)
    (conf / "local.yaml").write_text("spark: [unclosed\n")
    with pytest.raises(ConfigError, match=r"local\.yaml: not valid YAML"):
        load_config("local", None, conf)


def test_catalog_resolves_paths_locally_and_names_on_databricks(home: Path) -> None:
    local = load_config("local", "flights_delay", REPO_CONF)
    catalog = Catalog(local.settings, local.pipeline)
    ref = catalog.table("features")  # a pipeline's own table; the tables ingest writes are shared
    assert ref.location == f"{home}/lakehouse/gold/flights_delay/features"
    assert ref.partition_by == ["flight_date"] and not ref.is_catalog_name
    assert [catalog.table(t).location for t in ("flights", "flights_bronze_quarantine", "ingest_log", "flights_quarantine")] == [
        f"{home}/lakehouse/silver/flights", f"{home}/lakehouse/bronze/flights_bronze_quarantine",
        f"{home}/lakehouse/ops/ingest_log", f"{home}/lakehouse/silver/flights_delay/flights_quarantine"]
    dbx = load_config("databricks", "flights_delay", REPO_CONF)
    ref = Catalog(dbx.settings, dbx.pipeline).table("features")
    assert ref.location == "main.modelscale.flights_delay__features" and ref.is_catalog_name
    assert Catalog(dbx.settings, dbx.pipeline).table("flights").location == "main.modelscale.flights"
    with pytest.raises(ConfigError, match=r"table 'flihgts' is not declared.*declared: airlines"):
        Catalog(local.settings, local.pipeline).table("flihgts")


def test_pipeline_extends_another_and_overrides(home: Path, conf: Path) -> None:
    (conf / "pipelines" / "child.yaml").write_text(
        "extends: flights_delay\ndescription: child\nschedule: {start_date: 2013-06-01}\n"
        "tables:\n  flights: {partition_by: []}\n"
    )
    cfg = load_config("local", "child", conf).pipeline
    assert cfg.name == "child" and cfg.description == "child"
    assert cfg.schedule.start_date.isoformat() == "2013-06-01" and cfg.schedule.cron == "@daily"
    assert set(cfg.sources) == {"flights", "weather", "planes", "airports", "airlines"}
    assert cfg.tables["flights"].layer == "silver" and cfg.tables["flights"].partition_by == []
    (conf / "pipelines" / "child.yaml").write_text("extends: child\n")
    with pytest.raises(ConfigError, match="extends forms a cycle: child -> child"):
        load_config("local", "child", conf)
    (conf / "pipelines" / "child.yaml").write_text("extends: child\nbogus: 1\n".replace("child\n", "flights_delay\n", 1))
    with pytest.raises(ConfigError, match=r"child\.yaml: bogus: unknown key"):
        load_config("local", "child", conf)


def test_contributions_are_refused_at_load_for_an_estimator_without_them(home: Path, conf: Path) -> None:
    """Per-row contributions come from xgboost models only: asked of another estimator, load names the file, the
    key and the estimators that have them."""
    path = conf / "pipelines" / "flights_delay.yaml"
    _edit(path, lambda d: d.setdefault("scoring", {}).__setitem__("contributions", True))
    with pytest.raises(ConfigError) as err:
        load_config("local", "flights_delay", conf)
    assert (f"{path}: (top level): scoring.contributions: model.estimator logistic_regression computes no per-row "
            "contributions (supported: xgboost_classifier, xgboost_regressor)") in str(err.value)
    _edit(path, lambda d: d["model"].__setitem__("estimator", "gbt_classifier"))
    with pytest.raises(ConfigError, match=r"model.estimator gbt_classifier computes no per-row contributions"):
        load_config("local", "flights_delay", conf)
    _edit(path, lambda d: d["model"].__setitem__("estimator", "xgboost_classifier"))
    assert load_config("local", "flights_delay", conf).pipeline.scoring.contributions


def _monitoring(d: dict, **keys: object) -> None:
    d["monitoring"].update(keys)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["monitoring"]["thresholds"].__setitem__("distance", None),
     (r"monitoring.thresholds.distance: a threshold is a number: a feature that should not be monitored goes under "
      r"monitoring.exclude with the reason")),
    (lambda d: d["monitoring"]["thresholds"].__setitem__("distanse", 0.3),
     (r"\(top level\): monitoring.thresholds: distanse: neither a model column \(model.numeric, "
      r"model.categorical\) nor prediction \(monitorable: dep_hour, ")),
    (lambda d: d["monitoring"]["exclude"].__setitem__("wx_tmp", "the weather"),
     r"\(top level\): monitoring.exclude: wx_tmp: neither a model column"),
    (lambda d: d["monitoring"]["exclude"].__setitem__("dep_month", None),
     r"monitoring.exclude.dep_month: an excluded feature needs the reason it is not monitored"),
    (lambda d: d["monitoring"]["exclude"].__setitem__("dep_month", "  "),
     r"monitoring.exclude.dep_month: an excluded feature needs the reason it is not monitored"),
    (lambda d: _monitoring(d, exclude=["dep_month"]),
     r"monitoring.exclude: expected a mapping of each excluded feature to the reason it is not monitored"),
    (lambda d: d["monitoring"]["thresholds"].__setitem__("dep_month", 0.5),
     r"monitoring: thresholds: dep_month also excluded \(exclude\): a feature is either monitored or excluded"),
    (lambda d: _monitoring(d, window_run_dates=1),
     r"monitoring: windowed: .* compared over a window of window_run_dates=1: set window_run_dates to 2 or more"),
    (lambda d: _monitoring(d, windowed=[]),
     r"monitoring: window_run_dates: 7 run dates, but windowed lists no column to compare over them"),
    (lambda d: d["monitoring"]["windowed"].append("dep_weekdy"),
     r"\(top level\): monitoring.windowed: dep_weekdy: neither a model column"),
])
def test_every_monitored_column_has_a_threshold_or_a_reason(home: Path, conf: Path, change, message: str) -> None:
    """A null threshold, an excluded feature without a reason, or a monitoring key naming no model column is refused
    at load, naming the file and the key."""
    p = conf / "pipelines" / "flights_delay.yaml"
    _edit(p, change)
    with pytest.raises(ConfigError, match=rf"{p}: {message}"):
        load_config("local", "flights_delay", conf)
