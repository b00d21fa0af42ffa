"""A pipeline's cadence (``schedule.cadence``): its run dates, the landing file each expects, its training days and
its Airflow schedule; the demo landing files of txhousing; pipeline and table names that would nest tables."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from homes import REPO

from modelscale.cadence import first_of_last, run_dates_between
from modelscale.cli import main
from modelscale.config import load_config
from modelscale.config.models import ScheduleConfig
from modelscale.errors import ConfigError, InputDataError
from modelscale.ingest.demo_data import demo_for, write_landing
from modelscale.ingest.landing import find_files
from modelscale.orchestration import is_training_day
from modelscale.runner import run_dates

d = dt.date


def test_a_monthly_pipeline_runs_on_the_first_of_each_month() -> None:
    assert run_dates(start=d(2000, 1, 15), end=d(2000, 4, 1), cadence="monthly") == [
        d(2000, 2, 1), d(2000, 3, 1), d(2000, 4, 1)]
    assert run_dates(start=d(2000, 11, 1), end=d(2001, 1, 31), cadence="monthly") == [
        d(2000, 11, 1), d(2000, 12, 1), d(2001, 1, 1)]
    assert run_dates(d(2000, 3, 1), cadence="monthly") == [d(2000, 3, 1)]
    assert run_dates(cadence="monthly") == [dt.date.today().replace(day=1)]
    with pytest.raises(ValueError, match=r"--run-date: 2000-03-15 is not a run date of a monthly pipeline .* e\.g\. "
                                         r"2000-03-01"):
        run_dates(d(2000, 3, 15), cadence="monthly")
    with pytest.raises(ValueError, match="no run date of a monthly pipeline .* between 2000-03-02 and 2000-03-31"):
        run_dates(start=d(2000, 3, 2), end=d(2000, 3, 31), cadence="monthly")
    assert run_dates(start=d(2000, 3, 30), end=d(2000, 4, 1)) == [d(2000, 3, 30), d(2000, 3, 31), d(2000, 4, 1)]


def test_training_days_of_a_monthly_pipeline_begin_each_period_of_train_every_days() -> None:
    quarterly = ScheduleConfig(cadence="monthly", start_date=d(2000, 1, 1), train_every_days=90)
    months = run_dates_between(d(1999, 11, 1), d(2001, 1, 1), "monthly")
    assert [m for m in months if is_training_day(quarterly, m)] == [
        d(2000, 1, 1), d(2000, 4, 1), d(2000, 7, 1), d(2000, 10, 1), d(2001, 1, 1)]
    monthly = quarterly.model_copy(update={"train_every_days": 1})
    assert all(is_training_day(monthly, m) for m in months[2:])


def test_a_window_of_run_dates_counts_the_cadence_s_run_dates() -> None:
    """Monitoring's rolling window (``monitoring.window_run_dates``) starts that many run dates back: days of a daily
    pipeline, months of a monthly one, across year ends and short months."""
    assert first_of_last(d(2013, 1, 17), 7, "daily") == d(2013, 1, 11)
    assert first_of_last(d(2013, 3, 1), 2, "daily") == d(2013, 2, 28)
    assert first_of_last(d(2013, 1, 17), 1, "daily") == d(2013, 1, 17)
    assert first_of_last(d(2001, 2, 1), 3, "monthly") == d(2000, 12, 1)
    assert first_of_last(d(2000, 5, 1), 3, "monthly") == d(2000, 3, 1)  # 61 days back, not 90


def test_the_schedule_follows_the_cadence_and_starts_on_a_run_date(home: Path, tmp_path: Path) -> None:
    assert ScheduleConfig(start_date=d(2000, 1, 5)).cron == "@daily"
    assert ScheduleConfig(cadence="monthly", start_date=d(2000, 1, 1)).cron == "@monthly"
    assert ScheduleConfig(cadence="monthly", start_date=d(2000, 1, 1), cron="0 6 2 * *").cron == "0 6 2 * *"
    conf = _conf(tmp_path, lambda p: p["schedule"].__setitem__("start_date", "2000-01-15"))
    with pytest.raises(ConfigError, match=r"txhousing\.yaml: schedule: .*start_date: 2000-01-15 is not a run date of "
                                          r"a monthly pipeline"):
        load_config("local", "txhousing", conf)


def test_a_monthly_landing_file_belongs_to_its_month(home: Path, tmp_path: Path) -> None:
    source = load_config("local", "txhousing").pipeline.sources["txhousing"]
    folder = tmp_path / "txhousing"
    folder.mkdir()
    for name in ("txhousing_2000-02-01.csv", "txhousing_2000-03-31.csv"):  # month-end names belong to the month
        (folder / name).write_text("city,year,month\nAbilene,2000,2\n")
    found = find_files(tmp_path, "txhousing", source, [d(2000, 3, 1), d(2000, 4, 1)], "monthly")
    assert [(f.rel_path, f.file_date, f.run_date) for f in found] == [
        ("txhousing/txhousing_2000-03-31.csv", d(2000, 3, 31), d(2000, 3, 1))]
    assert find_files(tmp_path, "txhousing", source, [d(2000, 3, 1)]) == []  # daily: the 31st is not the 1st


def test_txhousing_lands_one_file_per_month_with_every_city(tmp_path: Path) -> None:
    demo = demo_for(["txhousing"])
    assert write_landing(tmp_path, d(2000, 1, 10), d(2000, 3, 1), demo) == {"files": 2, "written": 2, "unchanged": 0}
    assert write_landing(tmp_path, d(2000, 1, 10), d(2000, 3, 1), demo)["unchanged"] == 2
    files = sorted((tmp_path / "txhousing").iterdir())
    assert [f.name for f in files] == ["txhousing_2000-02-01.csv", "txhousing_2000-03-01.csv"]
    lines = files[0].read_text().splitlines()
    assert lines[0] == "city,year,month,sales,volume,median,listings,inventory,date" and len(lines) == 47
    assert lines[1].startswith("Abilene,2000,2,") and all(",2000,2," in line for line in lines[1:])
    with pytest.raises(InputDataError, match=r"no demo data writes the landing folder\(s\) loans .* txhousing: "
                                             r"txhousing"):
        demo_for(["loans"])


def test_demo_data_lands_the_files_of_the_pipeline_it_is_given(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo-data", "--pipeline", "txhousing", "--start", "2015-06-01"]) == 0
    assert json.loads(capsys.readouterr().out) == {"files": 2, "written": 2, "unchanged": 0}  # to the data's last
    assert sorted(p.name for p in (home / "landing" / "txhousing").iterdir()) == [
        "txhousing_2015-06-01.csv", "txhousing_2015-07-01.csv"]


def test_a_shared_table_named_like_its_pipeline_is_refused(home: Path, tmp_path: Path) -> None:
    def rename(p: dict) -> None:
        p["sources"]["txhousing"]["silver_table"] = "txhousing"
        p["tables"]["txhousing"] = p["tables"].pop("housing_sales")
        p["features"]["base"] = "txhousing"
        p["validation"]["suites"]["txhousing"] = p["validation"]["suites"].pop("housing_sales")

    with pytest.raises(ConfigError, match=r"tables\.txhousing: the shared silver table 'txhousing' is named like the "
                                          r"pipeline, whose own silver tables \(housing_sales_quarantine\) live in "
                                          r"<storage\.root>/silver/txhousing/: rename the table or the pipeline"):
        load_config("local", "txhousing", _conf(tmp_path, rename))


def _conf(tmp_path: Path, change: Callable[[dict], None]) -> Path:
    """A copy of the repository's conf/ with txhousing.yaml changed by ``change``."""
    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf)
    path = conf / "pipelines" / "txhousing.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return conf


def test_the_dag_of_a_monthly_pipeline_runs_monthly(tmp_path: Path) -> None:
    """The Airflow DAGs (in Airflow's own environment) take their schedule from the cadence."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELSCALE", "AIRFLOW"))}
    env |= {"AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "MODELSCALE_HOME": str(tmp_path / "home"), "MODELSCALE_CONF": str(REPO / "conf")}
    script = ("import json, runpy; dags = runpy.run_path('airflow_dags/modelscale_dags.py'); "
              "print(json.dumps({k: str(v.schedule) for k, v in dags.items() if k.startswith('modelscale__')}))")
    out = subprocess.run([str(REPO / ".venv-airflow" / "bin" / "python"), "-c", script], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-4000:]
    schedules = json.loads(out.stdout.splitlines()[-1])
    assert schedules["modelscale__txhousing"] == "@monthly" and schedules["modelscale__flights_delay"] == "@daily"


def test_a_run_date_off_the_cadence_exits_2_before_any_spark_work(home: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "ingest", "--pipeline", "txhousing", "--run-date", "2000-03-15"]) == 2
    assert "--run-date: 2000-03-15 is not a run date of a monthly pipeline" in capsys.readouterr().err
    assert not (home / "lakehouse").exists()
