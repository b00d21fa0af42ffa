"""RFC 4180 records: a quoted field may hold line breaks, so a CSV record may span lines (issue 30).

The driver counts a file's records (`RecordLines`) apart from Spark's parse (`read_batch`); both must
split the file into the same records, or the ingest's conservation check fails the batch."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from modelscale.delta import Lakehouse
from modelscale.errors import ConfigError
from modelscale.ingest.landing import Quoting, RecordLines, find_files
from modelscale.ingest.quarantine import accepted, quarantined
from modelscale.ingest.readers import read_batch

from .conftest import D1, D2, EVENTS, HEADER, Runner

F1, F2 = "events/events_2013-01-01.csv", "events/events_2013-01-02.csv"
UNPARSABLE = "unparsable line: expected 3 fields with balanced quotes"

# 20 records, as they are written and as they must land (id, name, amount); the terminators between
# them vary (\n, \r\n and a lone \r), and the last one has none.
RECORDS = [
    ('1,plain,1.5', (1, "plain", 1.5)),
    ('2,"line one\nline two",2.0', (2, "line one\nline two", 2.0)),
    ('3,"crlf\r\ninside",3.0', (3, "crlf\r\ninside", 3.0)),
    ('4,"lone\rcr",4.0', (4, "lone\rcr", 4.0)),
    ('5,"say ""hi""",5.0', (5, 'say "hi"', 5.0)),
    ('6,"a,b",6.0', (6, "a,b", 6.0)),
    ('7,"""quoted""\nover, two lines",7.0', (7, '"quoted"\nover, two lines', 7.0)),
    ('8,"\n",8.0', (8, "\n", 8.0)),
    ('9,"blank line\n\nand spaces\n   \nend",9.0', (9, "blank line\n\nand spaces\n   \nend", 9.0)),
    ('10,"like the header:\nid,name,amount\nis text",10.0', (10, "like the header:\nid,name,amount\nis text", 10.0)),
    ('11,"ends in a break\r\n",11.0', (11, "ends in a break\r\n", 11.0)),
    ('12,"three\nline\rfield",NA', (12, "three\nline\rfield", None)),
    ('13,"café\nnaïve",13.0', (13, "café\nnaïve", 13.0)),
    ('"14","quoted id",14.0', (14, "quoted id", 14.0)),
    ('15,"""",15.0', (15, '"', 15.0)),
    ('16,"a ""b""\r\nc ""d""",16.0', (16, 'a "b"\r\nc "d"', 16.0)),
    ('17,"a, ""b"",\n""c"", d\r",17.0', (17, 'a, "b",\n"c", d\r', 17.0)),
    ('18,plain,18.0', (18, "plain", 18.0)),
    ('19,"mixed\r\n\n\r",19.0', (19, "mixed\r\n\n\r", 19.0)),
    ('20,"last\nrecord",20.0', (20, "last\nrecord", 20.0)),
]
TERMINATORS = ["\n", "\r\n", "\r"]
MULTILINE = HEADER + "\r\n" + "".join(
    raw + ("" if i == len(RECORDS) - 1 else TERMINATORS[i % 3]) for i, (raw, _) in enumerate(RECORDS))

# An unterminated quote on line 3: it opens a field that the next quote (line 4's) cannot close as RFC 4180
# wants (right before a separator or the record's end), so line 3 alone is bad and line 4 starts a record
# again. The last record opens a quote that no line closes: it is bad, the lines after it are records.
UNTERMINATED = "\n".join([
    HEADER,
    "1,a,1.0",
    '2,"unterminated,2.0',
    '3,"c",3.0',
    '4,"multi\nline",4.0',
    "5,e,5.0",
    '6,"never closed,6.0',
    "7,g,7.0",
    "8,h,8.0",
]) + "\n"
UNTERMINATED_GOOD = [(1, "a", 1.0), (3, "c", 3.0), (4, "multi\nline", 4.0), (5, "e", 5.0), (7, "g", 7.0),
                     (8, "h", 8.0)]
UNTERMINATED_BAD = [('2,"unterminated,2.0', UNPARSABLE), ('6,"never closed,6.0', UNPARSABLE)]


def _land(home: Path, name: str, text: str) -> Path:
    path = home / "landing" / "events" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def _count(text: str, piece: int) -> RecordLines:
    """`RecordLines` fed ``text`` in pieces of ``piece`` characters."""
    lines = RecordLines(header=True, quoting=Quoting.of(EVENTS))
    for start in range(0, len(text), piece):
        lines.feed(text[start:start + piece])
    lines.feed("", final=True)
    return lines


def _csv_records(text: str) -> int:
    """Records as Python's csv module reads them: rows after the header that are not blank."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return sum(1 for row in rows[1:] if row and any(field.strip(" ") for field in row) and row != rows[0])


def _rows(df: DataFrame) -> list[tuple]:
    return sorted(tuple(r) for r in df.collect())


def test_the_multiline_sample_is_what_pythons_csv_module_reads() -> None:
    rows = list(csv.reader(io.StringIO(MULTILINE, newline="")))
    assert rows[0] == HEADER.split(",")
    assert [tuple(r) for r in rows[1:]] == [
        (str(i), name, "NA" if amount is None else str(amount)) for i, name, amount in (v for _, v in RECORDS)
    ]


@pytest.mark.parametrize("piece", [1, 2, 3, 5, 7, 64, 1 << 20])
def test_record_lines_count_records_across_pieces(piece: int) -> None:
    """A record, a quoted line break and a \\r\\n may each be split between two pieces."""
    lines = _count(MULTILINE, piece)
    assert (lines.first, lines.records, lines.multiline) == (HEADER, 20, True)


def _random_rfc4180(rng: random.Random, records: int) -> str:
    """A file of ``records`` events whose names hold separators, quotes, \\n, \\r\\n, lone \\r and blank lines."""
    alphabet = ["a", "b", " ", ",", '"', "\n", "\r", "\r\n", "é"]

    def name() -> str:
        text = "n" + "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 6)))
        if rng.random() < 0.7 or any(c in text for c in ',"\r\n'):
            return '"' + text.replace('"', '""') + '"'
        return text

    text = HEADER + "".join(f"{rng.choice(TERMINATORS)}{i},{name()},{i}.5" for i in range(records))
    return text + rng.choice(["", *TERMINATORS])


def test_record_lines_agree_with_pythons_csv_module_on_random_files() -> None:
    rng = random.Random(30)
    for _ in range(200):
        text = _random_rfc4180(rng, rng.randrange(1, 8))
        expected = _csv_records(text)
        for piece in (1, 3, len(text)):
            assert _count(text, piece).records == expected, (text, piece)


def test_random_rfc4180_files_are_read_as_pythons_csv_module_reads_them(spark: SparkSession, home: Path) -> None:
    """Read in splits of 64 bytes too: a file's lines are put back in order across Spark's partitions."""
    rng = random.Random(4180)
    days = [D1 + dt.timedelta(days=i) for i in range(10)]
    expected = []
    for day in days:
        text = _random_rfc4180(rng, 20)
        _land(home, f"events_{day}.csv", text)
        expected += [(int(i), name, float(amount)) for i, name, amount in csv.reader(io.StringIO(text, newline=""))
                     if i != "id"]
    files = find_files(home / "landing", "events", EVENTS, days)
    assert sum(f.multiline for f in files) == len(days)
    for split in ("128MB", "64"):
        spark.conf.set("spark.sql.files.maxPartitionBytes", split)
        try:
            parsed = read_batch(spark, "events", EVENTS, files)
            assert _rows(accepted(parsed).select("id", "name", "amount")) == sorted(expected), split
            assert quarantined(parsed, EVENTS).count() == 0
        finally:
            spark.conf.unset("spark.sql.files.maxPartitionBytes")


def test_files_without_a_multiline_record_keep_the_line_path(spark: SparkSession, home: Path) -> None:
    """Quotes, escaped quotes and separators in quoted fields: one record per line, read as plain lines
    (by Spark's text reader, as before records could span lines), with RFC 4180's "" as the escape."""
    text = f'{HEADER}\r\n1,"a,b",1\n2,"say ""hi""",2\r3,"""",3\n4,"x"y,4\n5,a"b,5\n'
    for piece in (1, 4, len(text)):
        lines = _count(text, piece)
        assert (lines.records, lines.multiline) == (5, False), piece
    _land(home, "events_2013-01-01.csv", text)
    files = find_files(home / "landing", "events", EVENTS, [D1])
    assert [(f.records, f.multiline) for f in files] == [(5, False)]
    parsed = read_batch(spark, "events", EVENTS, files)
    assert _rows(accepted(parsed).select("id", "name", "amount")) == [
        (1, "a,b", 1.0), (2, 'say "hi"', 2.0), (3, '"', 3.0), (4, '"x"y', 4.0), (5, 'a"b', 5.0)]


def test_an_unterminated_quote_is_counted_as_its_lines() -> None:
    """Line 3's quote is left open, so its line is a record of its own, and so is every line after it."""
    for piece in (1, 4, len(UNTERMINATED)):
        lines = _count(UNTERMINATED, piece)
        assert (lines.records, lines.multiline) == (8, True), piece


@pytest.mark.parametrize("options", [{"quote": "''"}, {"escape": ""}, {"sep": ",\""}])
def test_quoting_options_that_cannot_split_records_are_config_errors(home: Path, options: dict[str, str]) -> None:
    _land(home, "events_2013-01-01.csv", MULTILINE)
    source = EVENTS.model_copy(update={"options": EVENTS.options | options})
    with pytest.raises(ConfigError, match="sources.events.options: quote .* and escape .* must be one character"):
        find_files(home / "landing", "events", source, [D1])


def test_multiline_records_are_read_with_exact_values(spark: SparkSession, home: Path) -> None:
    _land(home, "events_2013-01-01.csv", MULTILINE)
    files = find_files(home / "landing", "events", EVENTS, [D1])
    assert [(f.records, f.multiline) for f in files] == [(20, True)]
    parsed = read_batch(spark, "events", EVENTS, files).cache()
    assert _rows(accepted(parsed).select("id", "name", "amount")) == sorted(v for _, v in RECORDS)
    assert _rows(quarantined(parsed, EVENTS)) == []


def test_unterminated_quotes_quarantine_their_line_only(spark: SparkSession, home: Path) -> None:
    _land(home, "events_2013-01-01.csv", UNTERMINATED)
    files = find_files(home / "landing", "events", EVENTS, [D1])
    assert [f.records for f in files] == [8]
    parsed = read_batch(spark, "events", EVENTS, files).cache()
    assert _rows(accepted(parsed).select("id", "name", "amount")) == UNTERMINATED_GOOD
    assert _rows(quarantined(parsed, EVENTS).select("_raw_record", "_reason")) == UNTERMINATED_BAD


@pytest.mark.parametrize("options", [{}, {"escape": "\\"}, {"sep": "::", "header": False}, {"header": False}],
                         ids=["rfc4180", "backslash-escape", "two-character-sep", "no-header"])
def test_random_text_is_split_alike_by_the_count_and_the_parse(spark: SparkSession, home: Path,
                                                               options: dict[str, object]) -> None:
    """Files of random quotes, escapes, separators and line breaks, well formed or not: Spark's parse yields
    as many records per file as the driver counts, so the ingest's conservation holds."""
    source = EVENTS.model_copy(update={"options": EVENTS.options | options})
    sep = str(options.get("sep", ","))
    rng = random.Random(str(options))
    alphabet = ["a", "1", " ", sep, sep, '"', '"', '""', "\\", "\n", "\r", "\r\n"]
    days = [D1 + dt.timedelta(days=i) for i in range(40)]
    for day in days:
        body = "1" + "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
        header = sep.join(["id", "name", "amount"]) + "\n" if source.options["header"] else ""
        _land(home, f"events_{day}.csv", header + body)
    files = [f for f in find_files(home / "landing", "events", source, days) if f.records]
    assert sum(f.multiline for f in files) > 5
    parsed = read_batch(spark, "events", source, files)
    got = dict(parsed.groupBy("_source_file").count().collect())
    assert got == {f.rel_path: f.records for f in files}


def test_ingest_lands_every_record_and_logs_records_read(spark: SparkSession, home: Path, run_ingest: Runner,
                                                         lakehouse: Lakehouse) -> None:
    _land(home, "events_2013-01-01.csv", MULTILINE)
    _land(home, "events_2013-01-02.csv", UNTERMINATED)
    summary = run_ingest([D1, D2]).summary["sources"]["events"]
    assert (summary["rows_read"], summary["rows_accepted"], summary["rows_quarantined"]) == (28, 26, 2)
    bronze = lakehouse.read("events_bronze")
    assert _rows(bronze.where("_batch_date = DATE'2013-01-01'").select("id", "name", "amount")) == sorted(
        v for _, v in RECORDS)
    assert _rows(bronze.where("_batch_date = DATE'2013-01-02'").select("id", "name", "amount")) == UNTERMINATED_GOOD
    assert _rows(lakehouse.read("events_bronze_quarantine").select("_raw_record", "_reason", "_source_file")) == [
        (raw, why, F2) for raw, why in UNTERMINATED_BAD]
    assert _rows(lakehouse.read("ingest_log").select("path", "rows_read", "rows_accepted", "rows_quarantined")) == [
        (F1, 20, 20, 0), (F2, 8, 6, 2)]
