"""MODELSCALE_HOME: the one directory that holds all local state.

Landing files, Delta tables, the MLflow store, Data Docs and logs live under it, so deleting
it resets everything.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "MODELSCALE_HOME"
DEFAULT_HOME = ".modelscale"


def modelscale_home() -> Path:
    """The absolute local state directory (``$MODELSCALE_HOME`` or ``./.modelscale``)."""
    return Path(os.environ.get(HOME_ENV) or DEFAULT_HOME).expanduser().resolve()
