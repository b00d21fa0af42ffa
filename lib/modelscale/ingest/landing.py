"""Find a source's landing files for the run dates and fingerprint them.

A landing file carries its date in its name (``flights_2013-01-05.csv``) and belongs to the run date of the
pipeline's cadence that holds it (itself, or for a monthly pipeline the first of its month: `modelscale.cadence`).
For the run dates ``D1..Dn`` an incremental source picks the files of ``D1..Dn``; a snapshot source picks its
latest snapshot of a run date on or before ``Dn``. The landing root is a local path or a storage URI (``s3a://``,
``abfss://``, ``gs://``, ``dbfs:/``, ``/Volumes/...``): the driver lists and reads it through
`modelscale.storage.files`, Spark reads the picked files by the same path. Each picked file is read once on the driver to check it
(readable, not empty, valid UTF-8 for text formats), take its SHA-256, its header line and, for a text
format, the number of records it holds: counted apart from Spark's parse, so the ingest can prove
that every record landed in bronze or the quarantine. A CSV record is an RFC 4180 record: a quoted
field may hold line breaks (`Quoting`), so a record may span lines.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import fnmatch
import functools
import hashlib
import os
import posixpath
import re
from dataclasses import dataclass
from itertools import repeat

from pyarrow import fs as pafs

from modelscale.cadence import Cadence, period_start
from modelscale.config.models import SourceConfig
from modelscale.errors import ConfigError, InputDataError
from modelscale.storage.files import filesystem, join, list_files

DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")
_CHUNK = 1 << 20
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # where Spark's text reader ends a line


@dataclass(frozen=True)
class LandingFile:
    """One landing file: where it is, the date in its name, the run date it belongs to (that date, or for a monthly
    pipeline the first of its month) and its fingerprint."""

    path: str  # a local path or a storage URI, as Spark reads it
    rel_path: str
    file_date: dt.date
    run_date: dt.date
    size: int
    mtime: dt.datetime
    checksum: str
    header_line: str | None
    records: int | None  # text formats: records that are neither blank nor the header line (see `RecordLines`)
    multiline: bool  # some line ends inside a quoted field: its records are not its lines (see `Quoting`)

    def header(self, source: SourceConfig) -> tuple[str, ...]:
        """The column names in the CSV header line, split with the source's separator and quote."""
        sep, quote = _separator_and_quote(source)
        line = (self.header_line or "").lstrip("\ufeff")
        return tuple(c.strip() for c in next(csv.reader([line], delimiter=sep, quotechar=quote)))


@dataclass(frozen=True)
class Quoting:
    """Where a CSV source's records end: RFC 4180, as Spark's CSV parser reads it with the source's
    ``sep``, ``quote`` and ``escape``. A quote opens a field only as its first character; inside, the
    separator and line breaks are text, the escape character (the quote itself unless declared, so
    ``""``) makes the next character text, and any other quote closes the field (the rest of the field
    up to the next separator is kept as it is). A line break outside quotes ends the record.

    A quote that carries a field over a line break must close right before a separator or the record's
    end. One that closes before other text (``"a<LF>b"c``), or that no line closes, leaves which lines
    the record holds in doubt: the lines up to the one where it closes are records of their own (the
    first is a bad one) and that line starts a record again (see `RecordLines`, `readers._joined_records`).

    A state, between two pieces of a line, is the shortest text that leads to it from a field's start:
    "" (a field's start), a plain character and the last characters read, fewer than the separator's
    (inside an unquoted field), the quote (inside a quoted field), or the quote and a quote or escape
    that the next character decides about.
    """

    sep: str
    quote: str
    escape: str

    @classmethod
    def of(cls, source: SourceConfig) -> Quoting | None:
        """The source's quoting; None when its records are its lines (not CSV, or ``quote`` is "": no quoting).
        A ValueError when ``quote`` or ``escape`` is not one character, or the separator is empty or holds either."""
        if source.format != "csv":
            return None
        sep, quote = _separator_and_quote(source)
        if not quote:
            return None
        escape = str(source.options.get("escape", quote))  # RFC 4180's "" unless declared (Spark's: a backslash)
        if len(quote) != 1 or len(escape) != 1 or not sep or quote in sep or escape in sep:
            raise ValueError(f"quote {quote!r} and escape {escape!r} must be one character each, and sep {sep!r} "
                             f"not empty and without either")
        return cls(sep, quote, escape)

    @functools.cached_property
    def _regexes(self) -> dict[str, str]:
        """The regexes the others are made of, in syntax Python's and Java's regexes read alike, with possessive
        quantifiers only: linear, and without the recursion that overflows Java's stack on a field of megabytes."""
        q, e, s0 = _atom(self.quote), _atom(self.escape), _atom(self.sep[0])
        sep = "".join(map(_atom, self.sep))
        body = rf"(?:[^{q}]++|{q}{q})*+" if self.escape == self.quote else rf"(?:[^{q}{e}]++|{e}[\s\S])*+"
        plain = rf"(?:[^{s0}]++|(?!{sep}){s0})*+"  # up to the next separator
        quoted = q + body  # a quote and the text it quotes, up to the quote (or final escape) that ends it
        field = f"(?:{quoted}{q}{plain}|(?!{q}){plain})"  # what follows a closing quote is text too, as for Spark
        return {"sep": sep, "quoted": quoted, "fields": f"(?:{field}{sep})*+", "field": field}

    @functools.cached_property
    def closed_regex(self) -> str:
        """A Java regex matching a text that, read from a record's start, does not end inside quotes
        (line breaks in it are text like any other)."""
        return rf"\A(?:{self._regexes['fields']}{self._regexes['field']})\z"

    @functools.cached_property
    def misclosed_regex(self) -> str:
        """A Java regex matching a line (with its line break) that goes on with a quoted field of the line
        before it, from that field's quote, when the quote closes before other text than a separator or the
        line's end (`carry`)."""
        return rf"\A{self._regexes['quoted']}{_atom(self.quote)}(?!{self._regexes['sep']}|[\r\n]|\z)"

    @functools.cached_property
    def _compiled(self) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
        fields, quoted, field = self._regexes["fields"], self._regexes["quoted"], self._regexes["field"]
        return re.compile(fields), re.compile(quoted), re.compile(fields + field)

    @functools.cached_property
    def _plain(self) -> str:
        """A character that is no separator, quote or escape: it stands for any text of an unquoted field."""
        return next(c for c in "xyz_" if c not in (self.quote, self.escape, *self.sep))

    def closed(self, lines: list[str]) -> bool:
        """True when each of ``lines`` (no line break in them), read from a record's start, ends outside quotes."""
        return all(map(self._compiled[2].fullmatch, lines))

    def scan(self, state: str, text: str) -> str:
        """The state after ``text`` (no line break in it) read from ``state``."""
        fields, quoted, _ = self._compiled
        text = state + text
        last = text[fields.match(text).end():]  # the last field: no separator outside quotes in it
        if last.startswith(self.quote):
            stop = last[quoted.match(last).end():]  # from the quote or escape where the quoted text stops
            if len(stop) < 2:
                return self.quote + stop
        elif not last:
            return ""
        return self._plain + last[len(last) + 1 - len(self.sep):]  # what may begin a separator

    def is_open(self, state: str) -> bool:
        """True when a line ending in ``state`` ends inside quotes: its line break is text of a field."""
        return state == self.quote or (self.escape != self.quote and state == self.quote + self.escape)

    def carry(self, pending: str, text: str) -> str | None:
        """A quoted field carried over a line break, read on: ``pending`` is its quote and what follows that
        is not decided yet (from the quote alone at the line's start). Returns what is still not decided,
        "" once the quote closed right before a separator, None once it closed before other text."""
        text = pending + text
        stop = text[self._compiled[1].match(text).end():]  # from the quote or escape where the quoted text stops
        if stop[1:].startswith(self.sep):
            return ""
        if len(stop) < 2 or self.sep.startswith(stop[1:]):  # the next characters decide
            return self.quote + stop
        return None

    def misclosed(self, pending: str | None) -> bool:
        """True when a line that ends with `carry`'s ``pending`` closed the quote it carried before other text
        than a separator. At the line's end, the quote alone (still open) and the quote then a quote or an
        escape (the line break decides: the field ends, or goes on) are right; a partial separator is not."""
        return pending is None or len(pending) > 2


def _separator_and_quote(source: SourceConfig) -> tuple[str, str]:
    return str(source.options.get("sep", source.options.get("delimiter", ","))), str(source.options.get("quote", '"'))


def _atom(char: str) -> str:
    """``char`` as a regex atom that Python and Java read alike, in a character class or out of one."""
    return char if char.isalnum() else "\\" + char


def find_files(
    landing_root: str | os.PathLike[str], name: str, source: SourceConfig, run_dates: list[dt.date],
    cadence: Cadence = "daily",
) -> list[LandingFile]:
    """The files of source ``name`` for ``run_dates`` (of ``cadence``), inspected, in date order."""
    folder_rel = posixpath.normpath(source.path)
    folder = join(os.fspath(landing_root), folder_rel)
    try:
        listed = list_files(folder)
    except FileNotFoundError:
        raise InputDataError(
            f"source {name!r}: landing folder {folder} does not exist "
            f"(expected files matching {source.pattern!r} there)"
        ) from None
    except OSError as exc:  # unreachable storage, refused credentials, not a folder
        raise InputDataError(f"source {name!r}: cannot list landing folder {folder}: {exc}") from None
    dated = sorted((_file_date(info.base_name), info) for info in listed
                   if not info.base_name.startswith(".") and fnmatch.fnmatch(info.base_name, source.pattern))
    owned = [(period_start(d, cadence), d, info) for d, info in dated]  # (run date, file date, file)
    if source.snapshot:
        picked = [f for f in owned if f[0] <= max(run_dates)][-1:]
    else:
        wanted = set(run_dates)
        picked = [f for f in owned if f[0] in wanted]
    try:
        quoting = Quoting.of(source)
    except ValueError as exc:
        raise ConfigError(f"sources.{name}.options: {exc}") from None
    return [_inspect(join(folder, info.base_name), f"{folder_rel}/{info.base_name}", info, d, r, source, quoting)
            for r, d, info in picked]


def _file_date(name: str) -> dt.date:
    m = DATE_IN_NAME.search(name)
    try:
        return dt.date.fromisoformat(m.group(1)) if m else _no_date(name)
    except ValueError:
        return _no_date(name)


def _no_date(name: str) -> dt.date:
    raise InputDataError(f"landing file {name}: its name carries no valid date YYYY-MM-DD, so no run date owns it")


def _inspect(path: str, rel_path: str, info: pafs.FileInfo, file_date: dt.date, run_date: dt.date,
             source: SourceConfig, quoting: Quoting | None) -> LandingFile:
    """Read the file once: checksum, emptiness, UTF-8 validity, header line and records."""
    text = source.format in ("csv", "json")
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = RecordLines(header=has_header(source), quoting=quoting)
    offset = 0
    try:
        fs, fs_path = filesystem(path)
        with fs.open_input_stream(fs_path) as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
                if text:
                    try:
                        lines.feed(decoder.decode(chunk))
                    except UnicodeDecodeError as exc:
                        raise InputDataError(
                            f"landing file {path} is not valid UTF-8: bad byte at offset {offset + exc.start}"
                        ) from None
                offset += len(chunk)
            if text:
                lines.feed(decoder.decode(b"", final=True), final=True)
    except UnicodeDecodeError:
        raise InputDataError(f"landing file {path} is not valid UTF-8: it ends inside a multi-byte character") from None
    except ValueError as exc:  # from RecordLines
        raise InputDataError(f"landing file {path}: {exc}") from None
    except OSError as exc:
        raise InputDataError(f"cannot read landing file {path}: {exc.strerror or exc}") from None
    if offset == 0 or (text and lines.blank):
        raise InputDataError(f"landing file {path} is empty (expected at least a header line)")
    return LandingFile(
        path=path,
        rel_path=rel_path,
        file_date=file_date,
        run_date=run_date,
        size=offset,
        mtime=info.mtime.astimezone(dt.UTC) if info.mtime else dt.datetime.fromtimestamp(0, tz=dt.UTC),
        checksum=digest.hexdigest(),
        header_line=lines.first if has_header(source) else None,
        records=lines.records if text else None,
        multiline=lines.multiline,
    )


class RecordLines:
    """Counts the records of a text file fed in pieces: the lines Spark's text reader yields (ended by
    ``\\n``, ``\\r\\n`` or ``\\r``) that are not blank (only spaces, as Spark's ``trim``) and, with a
    ``header``, not equal to the first line. These are the records `readers.read_batch` parses.

    With `Quoting`, a line that ends inside a quoted field goes on into the next: the lines up to the one
    that closes the field are one record (`multiline`). A quote that no line closes, or that closes before
    other text than a separator, leaves its lines to be records one by one, as if it were text (`readers`
    quarantines the line that opened it), and the line where it closes is read again from a record's start.

    At most `LONG_LINE` characters of a line are held: a longer line still counts as a record unless
    blank, is never equal to the header, and as the header line is a ValueError."""

    LONG_LINE = 1 << 20

    def __init__(self, *, header: bool, quoting: Quoting | None = None) -> None:
        self._header = header
        self._quoting = quoting
        self._line = ""  # the line being read, up to LONG_LINE characters
        self._long = False  # ... and it had more
        self._visible = False  # ... and that part held something other than whitespace
        self._spaced = False  # ... something other than spaces
        self._state = ""  # ... and the `Quoting` state it leads to
        self._open = False  # the last line ended inside quotes: the record goes on
        self._open_lines = 0  # the records that record's lines are if no line closes its quote rightly
        self._carried: str | None = ""  # while the line goes on with the last one's quoted field: `Quoting.carry`'s
        self._restart = ""  # ... and the line's `Quoting` state when read from a record's start
        self.first: str | None = None
        self.records = 0
        self.blank = True  # no line with anything but whitespace yet
        self.multiline = False  # some line ended inside quotes

    def feed(self, text: str, final: bool = False) -> None:
        """Add the next piece of the file (``final`` for the last one)."""
        # str.split is about 10x the regex's speed; only a piece holding a \r needs the regex
        *ended, rest = _LINE_BREAK.split(text) if "\r" in text else text.split("\n")
        if ended:  # a \r\n split between two pieces adds a blank line: not a record
            self._extend(ended[0])  # it may continue the previous piece's last line
            self._end_line()
            lines = ended[1:]
            self._whole_lines(lines, quoted=self._quoting is not None and self._quoting.quote in text
                              and not self._quoting.closed(lines))
        self._extend(rest)
        if final:
            if self._line or self._long:
                self._end_line()
            if self._open:
                self.records += self._open_lines

    def _whole_lines(self, lines: list[str], quoted: bool) -> None:
        """Lines that began and ended inside one piece: counted in bulk (a year of flights: 0.9 s -> 0.1 s
        of the driver's time before the first Spark job), one by one while no first line is known, when
        one is long, or when a quote may make a record of several lines (``quoted``: some line ends inside one)."""
        if self.first is None or quoted or self._open or max(map(len, lines), default=0) > self.LONG_LINE:
            for line in lines:
                self._extend(line)
                self._end_line()
            return
        self.blank = self.blank and not any(map(str.strip, lines))
        self.records += sum(map(bool, map(str.strip, lines, repeat(" "))))  # lines with more than spaces
        if self._header and self.first.strip(" "):
            self.records -= lines.count(self.first)

    def _extend(self, piece: str) -> None:
        if self._quoting:
            self._state = self._quoting.scan(self._state, piece)
            if self._open:  # the line goes on with the last one's quoted field
                self._restart = self._quoting.scan(self._restart, piece)  # in case its quote closes wrongly
                if self._carried:  # whether it does is not decided yet
                    self._carried = self._quoting.carry(self._carried, piece)
        room = self.LONG_LINE - len(self._line)
        if len(piece) > room:
            self._long = True
            self._visible = self._visible or bool(piece[room:].strip())
            self._spaced = self._spaced or bool(piece[room:].strip(" "))
        self._line += piece[:room]

    def _end_line(self) -> None:
        line, long, visible, spaced, state = self._line, self._long, self._visible, self._spaced, self._state
        self._line, self._long, self._visible, self._spaced, self._state = "", False, False, False, ""
        carried, restart, self._carried, self._restart = self._carried, self._restart, "", ""
        self.blank = self.blank and not (line.strip() or visible)
        if self.first is None:
            if long and self._header:
                raise ValueError(f"its header line is longer than {self.LONG_LINE:,} characters")
            self.first = line
            if self._header:
                return
        repeated_header = self._header and not long and line == self.first
        record = bool(line.strip(" ") or spaced) and not repeated_header
        if self._quoting and self._open and self._quoting.misclosed(carried):
            self.records += self._open_lines  # the record's lines are records one by one,
            self._open, state = False, restart  # and this line starts one, read from a record's start
        if self._quoting and self._quoting.is_open(state):  # the record goes on: the next line starts in quotes
            self._state = self._carried = self._quoting.quote
            self._open_lines = (self._open_lines if self._open else 0) + record
            self._open = self.multiline = True
        elif self._open:  # this line closes the quote that held the record open
            self._open = False
            self.records += 1
        else:
            self.records += record


def has_header(source: SourceConfig) -> bool:
    """True when the source's CSV files start with a header line."""
    return source.format == "csv" and str(source.options.get("header", False)).lower() == "true"
