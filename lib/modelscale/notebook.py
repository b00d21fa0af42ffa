"""What notebooks/run_job.py runs on Databricks: its widgets as a ``modelscale run`` command line, and the exit code
as the notebook task's outcome.

The Databricks job (resources/*.yml) sets the widgets as the tasks' ``base_parameters``. A job that was not due ends
the task successfully with a note (Databricks has no skipped state for a task that ran); any other non-zero exit
raises, so the task fails and its retries apply: a python_wheel_task would ignore the console script's return code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from modelscale.cli import main
from modelscale.config.loader import CONF_ENV
from modelscale.errors import ModelscaleError
from modelscale.orchestration import EXIT_NOT_DUE

WIDGETS: dict[str, str] = {
    "job": "ingest",
    "env": "databricks",
    "pipeline": "",
    "run_date": "",
    "start": "",
    "end": "",
    "when_due": "false",
    "conf": "",
    "wheel": "",
}
"""The run_job notebook's widgets and their defaults: ``pipeline`` (empty: the config's ``default_pipeline``),
``run_date`` or ``start`` and ``end``; ``conf`` is a conf
directory (``MODELSCALE_CONF``; empty: the wheel's packaged conf); ``wheel`` the wheel the notebook installs."""


class NotebookJobFailed(ModelscaleError):
    """The job the notebook ran failed; its output above the error says why."""


def command_line(widgets: Mapping[str, str]) -> list[str]:
    """The ``modelscale`` arguments for the notebook's widget values (unknown names are an error)."""
    unknown = sorted(set(widgets) - set(WIDGETS))
    if unknown:
        raise ModelscaleError(f"unknown notebook parameter(s) {', '.join(unknown)}; known: {', '.join(WIDGETS)}")
    w = {**WIDGETS, **widgets}
    argv = ["run", w["job"], "--env", w["env"], *(["--pipeline", w["pipeline"]] if w["pipeline"] else [])]
    if w["run_date"]:
        argv += ["--run-date", w["run_date"]]
    argv += [arg for name in ("start", "end") if w[name] for arg in (f"--{name}", w[name])]
    if w["when_due"].strip().lower() == "true":
        argv.append("--when-due")
    return argv


def run(widgets: Mapping[str, str]) -> str:
    """Run the command line of ``widgets`` on this process's Spark session; a note when it ran or was not due,
    `NotebookJobFailed` otherwise."""
    if widgets.get("conf"):
        os.environ[CONF_ENV] = widgets["conf"]
    argv = command_line(widgets)
    code = main(argv)
    if code == 0:
        return f"modelscale {' '.join(argv)}: done"
    if code == EXIT_NOT_DUE:
        return f"modelscale {' '.join(argv)}: not due (the reason is in the output above)"
    raise NotebookJobFailed(f"modelscale {' '.join(argv)} exited {code} (the reason is in the output above)")
