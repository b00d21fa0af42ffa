"""Landing discovery, malformed-record detection, the quarantine split and its counts (no Delta)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from modelscale.errors import ConservationError, InputDataError
from modelscale.ingest.landing import RecordLines, find_files
from modelscale.ingest.quarantine import Counts, accepted, check_conservation, quarantined
from modelscale.ingest.readers import read_batch, records_by_file

from .conftest import D1, D2, EVENTS, write_events

F1 = "events/events_2013-01-01.csv"


def _read(spark: SparkSession, home: Path, dates: list[dt.date], source=EVENTS):
    files = find_files(home / "landing", "events", source, dates)
    return read_batch(spark, "events", source, files)


def _records(home: Path, dates: list[dt.date], source=EVENTS) -> dict[str, int]:
    return records_by_file("events", source, find_files(home / "landing", "events", source, dates))


def test_malformed_records_are_quarantined_with_reasons(spark: SparkSession, home: Path) -> None:
    write_events(home, D1,
                 "1,ok,1.5",
                 "2,too,many,fields",
                 "3,bad,abc",
                 "4,NA,2.0",
                 "x,two,bad",
                 '"5,unbalanced,1',
                 "",
                 "6,nullable,NA",
                 " 7,padded,1.5")  # Spark's CSV reader takes no spaces around an int: nor do we
    parsed = _read(spark, home, [D1]).cache()

    got_bad = quarantined(parsed, EVENTS).select("_raw_record", "_reason", "_source_file", "_batch_date")
    expected_bad = spark.createDataFrame(
        [
            ("2,too,many,fields", "unparsable line: expected 3 fields with balanced quotes", F1, D1),
            ("3,bad,abc", "wrong type in column amount: expected double, got 'abc'", F1, D1),
            ("4,NA,2.0", "missing required column name", F1, D1),
            ("x,two,bad", "wrong type in column id: expected int, got 'x'; "
                          "wrong type in column amount: expected double, got 'bad'", F1, D1),
            ('"5,unbalanced,1', "unparsable line: expected 3 fields with balanced quotes", F1, D1),
            (" 7,padded,1.5", "wrong type in column id: expected int, got ' 7'", F1, D1),
        ],
        "_raw_record string, _reason string, _source_file string, _batch_date date",
    )
    assert_df_equality(got_bad, expected_bad, ignore_row_order=True, ignore_nullable=True)

    got_good = accepted(parsed)
    expected_good = spark.createDataFrame(
        [(1, "ok", 1.5, F1, D1), (6, "nullable", None, F1, D1)],
        "id int, name string, amount double, _source_file string, _batch_date date",
    )
    assert_df_equality(got_good, expected_good, ignore_row_order=True, ignore_nullable=True)
    assert _records(home, [D1]) == {F1: 8}  # the blank line is no record


def test_records_are_counted_per_file_without_parsing(spark: SparkSession, home: Path) -> None:
    write_events(home, D1, "1,a,1", "2,b,2")
    write_events(home, D2, "3,c,3", "oops,d,4", "5,e", "  ")
    write_events(home, dt.date(2013, 1, 3), "6,f,6,g", header="id,name,amount,gate")  # a layout of its own
    source = EVENTS.model_copy(update={"allow_schema_evolution": True})
    dates = [D1, D2, dt.date(2013, 1, 3)]
    assert _records(home, dates, source) == {
        F1: 2, "events/events_2013-01-02.csv": 3, "events/events_2013-01-03.csv": 1}
    parsed = _read(spark, home, dates, source)
    assert (accepted(parsed).count(), quarantined(parsed, source).count()) == (4, 2)
    with pytest.raises(ConservationError, match="read 5 records but accepted 2 \\+ quarantined 2 = 4"):
        check_conservation("batch", Counts(5, 2, 2))


def test_lineage_columns_come_from_the_file_name_as_landed(spark: SparkSession, home: Path) -> None:
    """Spark percent-encodes file names; '+', '%' and spaces come back as they are on disk."""
    write_events(home, D1, "1,a,1.5", name="events_2013-01-01+fix 100%.csv")
    write_events(home, D2, "2,b,2.5", name="events_2013-01-02_2013-01-05.csv")  # the first date in the name
    got = accepted(_read(spark, home, [D1, D2])).select("id", "_source_file", "_batch_date")
    expected = spark.createDataFrame(
        [(1, "events/events_2013-01-01+fix 100%.csv", D1), (2, "events/events_2013-01-02_2013-01-05.csv", D2)],
        "id int, _source_file string, _batch_date date")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.parametrize("pieces", [1, 3, 7], ids=["whole", "in-3-byte-pieces", "in-7-byte-pieces"])
def test_record_lines_counted_on_the_driver_are_the_lines_spark_parses(spark: SparkSession, home: Path,
                                                                       pieces: int) -> None:
    """CRLF, CR and LF endings, blank and space-only lines, a repeated header, no final line break."""
    body = "id,name,amount\r\n1,a,1\r\n\r\n   \n2,b,2\r3,c,3\nid,name,amount\n\t\n4,d,4"
    path = write_events(home, D1)
    path.write_bytes(body.encode())
    lines = RecordLines(header=True)
    for start in range(0, len(body), pieces if pieces > 1 else len(body)):
        lines.feed(body[start:start + (pieces if pieces > 1 else len(body))])
    lines.feed("", final=True)
    assert (lines.first, lines.records) == ("id,name,amount", 5)  # the tab-only line is a (bad) record
    assert _records(home, [D1]) == {F1: 5}
    assert _read(spark, home, [D1]).count() == 5


def test_record_lines_hold_at_most_one_long_line_prefix(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RecordLines, "LONG_LINE", 8)
    lines = RecordLines(header=True)
    for piece in ["id,", "a\n1,aaaaaa", "aaaaaaaa,1\n", " " * 20 + "\n", "  ", " " * 10 + "x", "\nid,a"]:
        lines.feed(piece)
        assert len(lines._line) <= 8
    lines.feed("", final=True)
    # the long record, the space-only line (not one), the line that ends in x, the repeated header (not one)
    assert (lines.first, lines.records, lines.blank) == ("id,a", 2, False)
    long_header = write_events(home, D1, header="id,name,amount" + " " * 10)
    with pytest.raises(InputDataError, match=f"landing file {long_header}: its header line is longer than 8 "):
        find_files(home / "landing", "events", EVENTS, [D1])


def test_new_column_is_read_as_string_when_evolution_is_allowed(spark: SparkSession, home: Path) -> None:
    write_events(home, D1, "1,a,gate 4,1.5", header="id,name,gate,amount")
    source = EVENTS.model_copy(update={"allow_schema_evolution": True})
    got = accepted(_read(spark, home, [D1], source)).select("id", "name", "amount", "gate")
    expected = spark.createDataFrame([(1, "a", 1.5, "gate 4")], "id int, name string, amount double, gate string")
    assert_df_equality(got, expected, ignore_nullable=True)


@pytest.mark.parametrize(
    ("header", "match"),
    [
        ("id,name,gate,amount", r"events_2013-01-01.csv has new column\(s\) gate not declared"),
        ("id,amount", r"events_2013-01-01.csv lacks column\(s\) name declared"),
    ],
)
def test_schema_drift_without_evolution_names_column_and_file(spark: SparkSession, home: Path, header: str,
                                                              match: str) -> None:
    write_events(home, D1, "1,a,b,2" if "gate" in header else "1,2", header=header)
    with pytest.raises(InputDataError, match=match):
        _read(spark, home, [D1])


def test_landing_problems_are_clear_errors(home: Path) -> None:
    with pytest.raises(InputDataError, match="landing folder .*events does not exist"):
        find_files(home / "landing", "events", EVENTS, [D1])
    path = write_events(home, D1)
    path.write_bytes(b"")
    with pytest.raises(InputDataError, match="events_2013-01-01.csv is empty"):
        find_files(home / "landing", "events", EVENTS, [D1])
    path.write_bytes(b"id,name,amount\n1,caf\xe9,1\n")
    with pytest.raises(InputDataError, match="events_2013-01-01.csv is not valid UTF-8: bad byte at offset 20"):
        find_files(home / "landing", "events", EVENTS, [D1])
    path.rename(path.with_name("events_latest.csv"))
    with pytest.raises(InputDataError, match="events_latest.csv: its name carries no valid date"):
        find_files(home / "landing", "events", EVENTS, [D1])


def test_picks_files_of_the_run_dates_and_latest_snapshot(home: Path) -> None:
    for day in (D1, D2, dt.date(2013, 1, 3)):
        write_events(home, day, "1,a,1")
    picked = find_files(home / "landing", "events", EVENTS, [D1, D2])
    assert [f.rel_path for f in picked] == [F1, "events/events_2013-01-02.csv"]
    snapshot = EVENTS.model_copy(update={"snapshot": True})
    assert [f.rel_path for f in find_files(home / "landing", "events", snapshot, [D2])] == [
        "events/events_2013-01-02.csv"
    ]


def test_parquet_type_change_fails_naming_column_and_file(spark: SparkSession, home: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = EVENTS.model_copy(update={"format": "parquet", "pattern": "events_*.parquet", "options": {}})
    folder = home / "landing" / "events"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": pa.array([1], pa.int32()), "name": ["a"], "amount": [1.5]}),
                   folder / "events_2013-01-01.parquet")
    got = accepted(_read(spark, home, [D1], source)).select("id", "name", "amount")
    assert_df_equality(got, spark.createDataFrame([(1, "a", 1.5)], "id int, name string, amount double"),
                       ignore_nullable=True)
    assert _records(home, [D1], source) == {"events/events_2013-01-01.parquet": 1}  # from the footer
    pq.write_table(pa.table({"id": pa.array([2], pa.int32()), "name": ["b"], "amount": ["2.5"]}),
                   folder / "events_2013-01-02.parquet")
    with pytest.raises(InputDataError, match=r"column 'amount' in file .*events_2013-01-02.parquet is string, "
                                             r"expected double"):
        _read(spark, home, [D2], source)


def test_json_lines_are_checked_like_csv(spark: SparkSession, home: Path) -> None:
    source = EVENTS.model_copy(update={"format": "json", "pattern": "events_*.jsonl", "options": {}})
    folder = home / "landing" / "events"
    folder.mkdir(parents=True)
    (folder / "events_2013-01-01.jsonl").write_text(
        '{"id": 1, "name": "a", "amount": 1.5}\n{"id": 2, "name": "b", "amount": "x"}\n{"id": 3\n',
        encoding="utf-8")
    parsed = _read(spark, home, [D1], source)
    assert _records(home, [D1], source) == {"events/events_2013-01-01.jsonl": 3}
    got = quarantined(parsed, source).select("_raw_record", "_reason")
    expected = spark.createDataFrame(
        [('{"id": 2, "name": "b", "amount": "x"}', "wrong type in column amount: expected double, got 'x'"),
         ('{"id": 3', "unparsable line: not a valid JSON object")],
        "_raw_record string, _reason string")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
    assert_df_equality(accepted(parsed).select("id", "name", "amount"),
                       spark.createDataFrame([(1, "a", 1.5)], "id int, name string, amount double"),
                       ignore_nullable=True)
