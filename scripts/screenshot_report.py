"""Screenshot monitoring reports in headless Chromium: ``<report dir>/screenshot.png``.

The report is read in a browser; this shows the page as one draws it (``make demo`` runs it after the pipeline,
tests/scoring/test_score_and_monitor.py on a real report). Chromium is optional: without it this says why in one
line and exits 0.

    python scripts/screenshot_report.py [REPORT_DIR ...]    # default: every <MODELSCALE_HOME>/reports/*/
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from modelscale.home import modelscale_home

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WIDTH, MAX_HEIGHT = 1400, 8000  # the window; the image is cut below the page's last drawn row
MARGIN = 24
TIMEOUT_SECONDS = 120


def browser() -> str | None:
    """The first Chromium-family browser on PATH."""
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def screenshot(page: Path, out: Path, executable: str) -> Path:
    """Draw ``page`` in a ``WIDTH`` wide headless window and save it to ``out``, cut below the last drawn row
    (headless Chromium captures a fixed window, not the page's height)."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:  # no shared profile: concurrent runs are fine
        subprocess.run([executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={WIDTH},{MAX_HEIGHT}",
                        f"--screenshot={out}", page.resolve().as_uri()],
                       check=True, capture_output=True, timeout=TIMEOUT_SECONDS)
    image = Image.open(out).convert("RGB")
    pixels = np.asarray(image)
    drawn = np.flatnonzero((pixels != pixels[-1, -1]).any(axis=(1, 2)))  # rows unlike the background
    bottom = min(int(drawn[-1]) + MARGIN, image.height) if drawn.size else image.height
    image.crop((0, 0, image.width, bottom)).save(out)
    return out


def main(argv: list[str]) -> int:
    """Screenshot each report folder given (or found); 0 also when Chromium is missing (skipped, with the reason)."""
    folders = [Path(a) for a in argv] or sorted((modelscale_home() / "reports").glob("*/"))
    pages = [f / "index.html" for f in folders if (f / "index.html").is_file()]
    executable = browser()
    if executable is None:
        print("report screenshot skipped: no Chromium on PATH (Debian/Ubuntu: apt-get install chromium)")
        return 0
    if not pages:
        print(f"report screenshot skipped: no index.html in {', '.join(map(str, folders)) or 'no report folder'}")
        return 0
    for page in pages:
        print(f"report screenshot: {screenshot(page, page.with_name('screenshot.png'), executable)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
