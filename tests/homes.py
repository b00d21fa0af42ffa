"""Point modelscale at a test's own MODELSCALE_HOME and the repository's conf/, with no env overrides."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def isolate_home(mp: pytest.MonkeyPatch, home: Path) -> Path:
    """Set MODELSCALE_HOME to ``home`` and MODELSCALE_CONF to conf/, and drop ``MODELSCALE__*`` overrides."""
    mp.setenv("MODELSCALE_HOME", str(home))
    mp.setenv("MODELSCALE_CONF", str(REPO / "conf"))
    for name in list(os.environ):
        if name.startswith("MODELSCALE__"):
            mp.delenv(name)
    return home
