"""The Databricks Asset Bundle, checked without a workspace: its files against the CLI's JSON schema, and every task
against the notebook, the CLI, the job registry, the Airflow chain and the pipeline config."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from modelscale.cli import build_parser
from modelscale.config import load_config
from modelscale.errors import ModelscaleError
from modelscale.notebook import WIDGETS, command_line
from modelscale.orchestration import task_plan
from modelscale.registry import JOBS

REPO = Path(__file__).resolve().parents[1]
SCHEMA = Path(__file__).resolve().parent / "schemas" / "databricks_bundle" / "jsonschema.json"
BUNDLE_FILES = [REPO / "databricks.yml", *sorted((REPO / "resources").glob("*.yml"))]
RUN_DATE = "2013-01-14"


def _python_patterns(node: Any) -> Any:
    """The schema with its Go patterns in Python's ``re``: ``[\\p{L}\\p{N}]`` a letter or digit, ``\\p{L}`` a
    letter (the patterns of ``${...}`` references)."""
    if isinstance(node, dict):
        return {k: (v.replace(r"[\p{L}\p{N}]", r"[^\W_]").replace(r"\p{L}", r"[^\W\d_]") if k == "pattern"
                    else _python_patterns(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_python_patterns(v) for v in node]
    return node


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = _python_patterns(json.loads(SCHEMA.read_text(encoding="utf-8")))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _jobs() -> list[tuple[Path, str, dict[str, Any]]]:
    return [(path, key, job) for path in BUNDLE_FILES[1:]
            for key, job in _load(path).get("resources", {}).get("jobs", {}).items()]


def _errors(validator: jsonschema.Draft202012Validator, doc: dict[str, Any]) -> list[str]:
    """Every error with the path it is at; under a ``oneOf`` the errors of its alternatives."""
    def flat(e: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
        return [x for c in e.context for x in flat(c)] if e.context else [e]
    return [f"{'.'.join(map(str, x.absolute_path))}: {x.message}" for e in validator.iter_errors(doc)
            for x in flat(e)]


@pytest.mark.parametrize("path", BUNDLE_FILES, ids=lambda p: p.name)
def test_bundle_file_matches_the_cli_schema(validator: jsonschema.Draft202012Validator, path: Path) -> None:
    assert _errors(validator, _load(path)) == []


def test_the_schema_refuses_what_the_cli_would(validator: jsonschema.Draft202012Validator) -> None:
    _, key, job = _jobs()[0]
    def task_errors(**change: Any) -> list[str]:
        return _errors(validator, {"resources": {"jobs": {key: {"tasks": [{**job["tasks"][0], **change}]}}}})

    assert task_errors(max_retries="${var.retries}") == []
    assert any("'notebook_tsk' was unexpected" in e for e in task_errors(notebook_tsk={}))
    assert any("'often' is not of type 'integer'" in e for e in task_errors(max_retries="often"))


def test_the_bundle_includes_its_resources_and_has_dev_and_prod_targets() -> None:
    bundle = _load(REPO / "databricks.yml")
    assert bundle["include"] == ["resources/*.yml"] and _jobs()
    assert bundle["targets"]["dev"]["mode"] == "development"
    assert bundle["targets"]["prod"]["mode"] == "production" and bundle["targets"]["prod"]["run_as"]
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert bundle["variables"]["wheel"]["default"] == f"{project['name']}-{project['version']}-py3-none-any.whl"
    assert "dist/*.whl" in bundle["sync"]["include"]


def test_every_variable_a_file_uses_is_declared() -> None:
    declared = set(_load(REPO / "databricks.yml")["variables"])
    for path in BUNDLE_FILES:
        used = set(re.findall(r"\$\{var\.(\w+)\}", path.read_text(encoding="utf-8")))
        assert used <= declared, f"{path.name}: undeclared {sorted(used - declared)}"


@pytest.mark.parametrize(("path", "key", "job"), _jobs(), ids=lambda v: v if isinstance(v, str) else "")
def test_tasks_mirror_the_airflow_chain_and_run_commands_the_cli_takes(
    home: Path, path: Path, key: str, job: dict[str, Any]
) -> None:
    plan = task_plan()
    tasks = job["tasks"]
    assert [t["task_key"] for t in tasks] == [s.job for s in plan]
    assert [[d["task_key"] for d in t.get("depends_on", [])] for t in tasks] == [s.upstream for s in plan]
    job_params = {p["name"] for p in job.get("parameters", [])}
    parser = build_parser()
    pipelines = set()
    for task in tasks:
        notebook = (path.parent / task["notebook_task"]["notebook_path"]).resolve()
        assert notebook == REPO / "notebooks" / "run_job.py"
        params = dict(task["notebook_task"]["base_parameters"])
        assert set(re.findall(r"\{\{job\.parameters\.(\w+)\}\}", str(params))) <= job_params
        params["run_date"] = params["run_date"].replace("{{job.parameters.run_date}}", RUN_DATE)
        args = parser.parse_args(command_line(params))
        assert (args.command, args.job, args.env, str(args.run_date), args.when_due) == (
            "run", task["task_key"], "databricks", RUN_DATE, True)
        assert args.job in JOBS
        pipelines.add(args.pipeline)
    (pipeline,) = pipelines
    cfg = load_config("databricks", pipeline).pipeline
    assert cfg is not None and cfg.schedule.cron == "@daily" and job["schedule"]["quartz_cron_expression"].endswith("* * ?")
    assert {t["max_retries"] for t in tasks} == {cfg.schedule.retries}


def test_a_task_cannot_pass_a_parameter_the_notebook_lacks() -> None:
    with pytest.raises(ModelscaleError, match="unknown notebook parameter.*run_dat"):
        command_line({"job": "train", "run_dat": RUN_DATE})
    assert command_line({"job": "pipeline", "start": "2013-01-01", "end": "2013-01-17"}) == [
        "run", "pipeline", "--env", "databricks", "--start", "2013-01-01", "--end", "2013-01-17"]  # default_pipeline
    assert command_line({"job": "train", "pipeline": "txhousing", "run_date": "2000-06-01"}) == [
        "run", "train", "--env", "databricks", "--pipeline", "txhousing", "--run-date", "2000-06-01"]


def test_the_job_notebook_declares_the_widgets_the_tasks_set() -> None:
    text = (REPO / "notebooks" / "run_job.py").read_text(encoding="utf-8")
    assert set(re.findall(r'dbutils\.widgets\.(?:text|dropdown)\("(\w+)"', text)) == set(WIDGETS)
    choices = re.search(r'dropdown\("job", "\w+", (\[[^]]*\])', text)
    assert choices is not None and json.loads(choices.group(1)) == [*JOBS, "pipeline"]


@pytest.mark.parametrize("notebook", ["run_job.py", "tables.py"])
def test_the_notebooks_install_the_wheel_and_the_pinned_versions(notebook: str) -> None:
    text = (REPO / "notebooks" / notebook).read_text(encoding="utf-8")
    assert "# MAGIC %pip install --no-deps $wheel\n" in text and "dbutils.library.restartPython()" in text
    pinned = {re.split(r"[\[=<>]", d)[0]: d for d in
              tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]}
    (line,) = [ln for ln in text.splitlines() if ln.startswith("# MAGIC %pip install \"")]
    for requirement in re.findall(r'"([^"]+)"', line):
        name = re.split(r"[\[=<>]", requirement)[0]
        assert pinned[name].replace(f"{name}[spark]", name) == requirement
