"""Find a source's landing files for the run dates and fingerprint them.

A landing file carries its date in its name (``flights_2013-01-05.csv``). For the run dates
``D1..Dn`` an incremental source picks the files dated ``D1..Dn``; a snapshot source picks its
latest snapshot dated on or before ``Dn``. Each picked file is read once on the driver to check it
(readable, not empty, valid UTF-8 for text formats), take its SHA-256 and its header line.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import fnmatch
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from modelscale.config.models import SourceConfig
from modelscale.errors import InputDataError

_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class LandingFile:
    """One landing file: where it is, the date it belongs to and its fingerprint."""

    path: Path
    rel_path: str
    file_date: dt.date
    size: int
    mtime: dt.datetime
    checksum: str
    header_line: str | None

    def header(self, source: SourceConfig) -> tuple[str, ...]:
        """The column names in the CSV header line, split with the source's separator and quote."""
        sep = str(source.options.get("sep", source.options.get("delimiter", ",")))
        quote = str(source.options.get("quote", '"'))
        line = (self.header_line or "").lstrip("\ufeff")
        return tuple(c.strip() for c in next(csv.reader([line], delimiter=sep, quotechar=quote)))


def find_files(
    landing_root: str | Path, name: str, source: SourceConfig, run_dates: list[dt.date]
) -> list[LandingFile]:
    """The files of source ``name`` for ``run_dates``, inspected, in date order."""
    folder = Path(landing_root) / source.path
    if not folder.is_dir():
        raise InputDataError(
            f"source {name!r}: landing folder {folder} does not exist "
            f"(expected files matching {source.pattern!r} there)"
        )
    dated = sorted((_file_date(p), p) for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(".") and fnmatch.fnmatch(p.name, source.pattern))
    if source.snapshot:
        upto = [(d, p) for d, p in dated if d <= max(run_dates)]
        picked = upto[-1:]
    else:
        wanted = set(run_dates)
        picked = [(d, p) for d, p in dated if d in wanted]
    return [_inspect(p, d, Path(landing_root), source) for d, p in picked]


def _file_date(path: Path) -> dt.date:
    m = _DATE_IN_NAME.search(path.name)
    try:
        return dt.date.fromisoformat(m.group(1)) if m else _no_date(path)
    except ValueError:
        return _no_date(path)


def _no_date(path: Path) -> dt.date:
    raise InputDataError(f"landing file {path}: its name carries no valid date YYYY-MM-DD, so no run date owns it")


def _inspect(path: Path, file_date: dt.date, root: Path, source: SourceConfig) -> LandingFile:
    """Read the file once: checksum, emptiness, UTF-8 validity and header line."""
    text = source.format in ("csv", "json")
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    first_line = ""
    offset = 0
    try:
        stat = path.stat()
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
                if text:
                    try:
                        decoded = decoder.decode(chunk)
                    except UnicodeDecodeError as exc:
                        raise InputDataError(
                            f"landing file {path} is not valid UTF-8: bad byte at offset {offset + exc.start}"
                        ) from None
                    if "\n" not in first_line:
                        first_line += decoded[: 1 << 16]
                offset += len(chunk)
            if text:
                decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise InputDataError(f"landing file {path} is not valid UTF-8: it ends inside a multi-byte character") from None
    except OSError as exc:
        raise InputDataError(f"cannot read landing file {path}: {exc.strerror or exc}") from None
    if stat.st_size == 0 or (text and not first_line.strip()):
        raise InputDataError(f"landing file {path} is empty (expected at least a header line)")
    return LandingFile(
        path=path,
        rel_path=path.relative_to(root).as_posix(),
        file_date=file_date,
        size=stat.st_size,
        mtime=dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC),
        checksum=digest.hexdigest(),
        header_line=first_line.splitlines()[0] if has_header(source) else None,
    )


def has_header(source: SourceConfig) -> bool:
    """True when the source's CSV files start with a header line."""
    return source.format == "csv" and str(source.options.get("header", False)).lower() == "true"
