"""CLI argument handling and exit codes, through the real entry point."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelscale.cli import EXIT_USER_ERROR, main
from modelscale.orchestration import EXIT_NOT_DUE
from modelscale.runner import run_dates

VENV_BIN = Path(sys.executable).parent


def test_console_script_lists_every_job() -> None:
    out = subprocess.run([str(VENV_BIN / "modelscale"), "--help"], capture_output=True, text=True, check=True)
    for job in ("ingest", "validate", "features", "train", "score", "monitor", "pipeline"):
        assert f"\n  {job} " in out.stdout


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "ingest", "--run-date", "2013-02-30"], "expected a date as YYYY-MM-DD, got '2013-02-30'"),
        (["run", "fly"], "invalid choice: 'fly'"),
        (["tables", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(argv: list[str], expected: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert expected in capsys.readouterr().err


def test_run_date_and_range_are_exclusive(home: Path, capsys) -> None:
    code = main(["run", "ingest", "--run-date", "2013-01-01", "--start", "2013-01-01", "--end", "2013-01-02"])
    assert code == EXIT_USER_ERROR
    assert "either --run-date or --start/--end" in capsys.readouterr().err


def test_config_error_is_one_readable_paragraph(home: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSCALE__DELTA__ENGIN", "native")
    assert main(["config", "show"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "modelscale: error: invalid configuration" in err and "delta.engin: unknown key" in err
    assert "Traceback" not in err


def test_config_show_prints_the_resolved_config(home: Path, capsys) -> None:
    assert main(["config", "show", "--env", "databricks", "--pipeline", "flights_delay"]) == 0
    out = capsys.readouterr().out
    assert "catalog: main" in out and "name: flights_delay" in out and "engine: native" in out


def test_job_not_in_this_version_says_which_issue(home: Path, capsys) -> None:
    from modelscale.errors import ModelscaleError
    from modelscale.registry import JOBS, get_job

    missing = [n for n, spec in JOBS.items() if spec.target is None]
    for name in missing:
        with pytest.raises(ModelscaleError, match=rf"the {name} job is not part of this version yet"):
            get_job(name).load()
    for name in set(JOBS) - set(missing):
        assert callable(get_job(name).load())


def test_when_due_skips_a_job_that_is_not_due_and_exits_99(spark, home: Path, capsys) -> None:
    from mlflow import MlflowClient

    code = main(["run", "score", "--pipeline", "flights_delay", "--start", "2013-01-01", "--end", "2013-01-02",
                 "--when-due"])
    assert code == EXIT_NOT_DUE == 99  # due on none of the dates: Airflow's tasks end skipped on it
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [{"job": "score", "ok": True, "skipped": "no model to score with yet", "summary": {}}] * 2
    assert not (home / "lakehouse").exists()
    store = f"sqlite:///{home}/mlflow/mlflow.db"
    client = MlflowClient(store, registry_uri=store)  # not the registry an earlier test of this process set
    ops = client.search_runs([client.get_experiment_by_name("modelscale/flights_delay/operations").experiment_id])
    tags = ("modelscale.job", "modelscale.run_date", "modelscale.outcome")
    assert sorted((*(r.data.tags[t] for t in tags), r.info.status) for r in ops) == [
        ("score", f"2013-01-0{d}", "skipped", "FINISHED") for d in (1, 2)]
    log = (home / "logs" / "modelscale.log").read_text()
    assert "2013-01-02 score skipped: no model to score with yet" in log


def test_run_dates() -> None:
    d = dt.date
    assert run_dates(d(2013, 1, 5)) == [d(2013, 1, 5)]
    assert run_dates(start=d(2013, 1, 30), end=d(2013, 2, 2)) == [d(2013, 1, 30), d(2013, 1, 31), d(2013, 2, 1), d(2013, 2, 2)]
    with pytest.raises(ValueError, match="before --start"):
        run_dates(start=d(2013, 2, 2), end=d(2013, 2, 1))
    with pytest.raises(ValueError, match="go together"):
        run_dates(start=d(2013, 2, 2))
