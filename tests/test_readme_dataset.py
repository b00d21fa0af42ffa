"""The README's "Add a dataset" example, copied out of README.md into a conf directory of its own (with the
repository's base.yaml and local.yaml) and run end to end on the real txhousing months January to October 2000:
January to September warm up, October trains the first model, scores and monitors."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from homes import REPO
from monthly import check_months, run_months
from pyspark.sql import SparkSession

from modelscale.config import load_config

pytestmark = pytest.mark.slow
MARKER = "<!-- add-a-dataset example"
START, END = dt.date(2000, 1, 1), dt.date(2000, 10, 1)


def readme_example() -> tuple[str, str]:
    """The pipeline name (from the block's first line, ``# conf/pipelines/<name>.yaml``) and the YAML block that
    follows the marker in README.md."""
    text = (REPO / "README.md").read_text()
    assert text.count(MARKER) == 1, "README.md: the example's marker comment is missing or repeated"
    block = re.search(r"```yaml\n(.*?)```", text[text.index(MARKER):], re.DOTALL)
    assert block is not None, "README.md: no ```yaml block after the example's marker"
    name = re.match(r"# conf/pipelines/(\w+)\.yaml", block.group(1))
    assert name is not None, "README.md: the example's first line names conf/pipelines/<name>.yaml"
    return name.group(1), block.group(1)


def test_the_readme_example_runs_end_to_end(spark: SparkSession, home: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    name, example = readme_example()
    conf = tmp_path / "conf"
    (conf / "pipelines").mkdir(parents=True)
    for overlay in ("base.yaml", "local.yaml"):
        shutil.copy(REPO / "conf" / overlay, conf / overlay)
    (conf / "pipelines" / f"{name}.yaml").write_text(example)
    monkeypatch.setenv("MODELSCALE_CONF", str(conf))
    cfg = load_config("local", name)
    assert cfg.pipeline is not None and cfg.pipeline.schedule.cadence == "monthly"
    ctx, results = run_months(spark, cfg, START, END)
    check_months(ctx, results, [END])
    assert len(results) == 9
