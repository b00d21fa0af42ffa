"""Servers tests start in processes of their own on 127.0.0.1: waiting until one answers over HTTP."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path

import pytest


def wait_for_http(url: str, server: subprocess.Popen[bytes], log: Path, what: str, timeout: float = 180) -> None:
    """Return once ``url`` answers; fail the test with ``server``'s log if it exits or ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{what} did not start: {log.read_text()}")
