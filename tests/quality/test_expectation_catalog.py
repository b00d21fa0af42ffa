"""The shipped expectation catalog matches the installed GX, and config loading does not import GX."""

from __future__ import annotations

import subprocess
import sys

from modelscale.quality.catalog import CATALOG_PATH
from modelscale.quality.catalog_gen import generate, render


def test_shipped_catalog_matches_installed_gx():
    assert CATALOG_PATH.read_text(encoding="utf-8") == render(generate()), (
        "expectation_catalog.json is stale: run `python -m modelscale.quality.catalog_gen` and commit it")


def test_config_load_does_not_import_gx():
    code = ("import sys; from modelscale.config import load_config; "
            "s = load_config('local', 'flights_delay').pipeline.validation.suites; "
            "assert s['flights'].expectations; print('great_expectations' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
