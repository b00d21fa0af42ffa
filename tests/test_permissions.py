"""What the suite creates on disk takes the process's umask: no table, log, MLflow store or artifact is open to
other users when the umask says so (Hadoop's file systems use their own umask, 022, unless the session says)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from homes import REPO

pytestmark = pytest.mark.slow
MODELSCALE = Path(sys.executable).parent / "modelscale"


def test_a_pipeline_run_creates_nothing_the_umask_forbids(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELSCALE__")}
    env |= {"MODELSCALE_HOME": str(home), "MODELSCALE_CONF": str(REPO / "conf")}
    for argv in (["demo-data", "--start", "2013-01-01", "--end", "2013-01-01"],
                 ["run", "pipeline", "--run-date", "2013-01-01"]):
        done = subprocess.run([str(MODELSCALE), *argv], env=env, umask=0o027, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
    assert "Delta engine: native" in done.stderr  # Hadoop writes the tables (delta-rs writes with the umask anyway)

    created = [home, *home.rglob("*")]
    kinds = {p.relative_to(home).parts[0] for p in created if p != home}
    assert {"lakehouse", "mlflow", "logs"} <= kinds, kinds
    assert any(p.name.endswith(".parquet") for p in created) and any(p.name == "summary.json" for p in created)
    open_to_others = [f"{stat.filemode(p.lstat().st_mode)} {p}" for p in created
                      if not p.is_symlink() and p.lstat().st_mode & 0o007]
    assert not open_to_others, "\n".join(open_to_others[:20])
