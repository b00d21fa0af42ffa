"""The ingest job on real Delta tables: incremental, idempotent, conserving, merging, drift-aware."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from modelscale.config.models import ScheduleConfig
from modelscale.delta import Lakehouse
from modelscale.errors import ConservationError, InputDataError
from modelscale.ingest import job

from .conftest import D1, D2, Runner, events_config, versions, write_events

F1, F2 = "events/events_2013-01-01.csv", "events/events_2013-01-02.csv"
D3 = dt.date(2013, 1, 3)


def test_incremental_pickup_then_rerun_changes_nothing(spark: SparkSession, home: Path, run_ingest: Runner,
                                                       lakehouse: Lakehouse) -> None:
    write_events(home, D1, "1,a,1.0", "2,b,2.0")
    write_events(home, D2, "3,c,3.0")
    first = run_ingest([D1])
    assert first.summary["sources"]["events"] | {"batch_id": None, "table_versions": None} == {
        "files_ingested": 1, "files_already_ingested": 0, "changed_files": [], "missing_dates": [],
        "rows_read": 2, "rows_accepted": 2, "rows_quarantined": 0, "batch_id": None, "table_versions": None,
    }
    assert lakehouse.read("events_bronze").count() == 2
    logged = lakehouse.read("ingest_log").select("bronze_version", "silver_version").first()
    assert (logged["bronze_version"], logged["silver_version"]) == (lakehouse.version("events_bronze"),
                                                                    lakehouse.version("events"))

    second = run_ingest([D1, D2])
    assert second.summary["sources"]["events"]["files_ingested"] == 1
    assert second.summary["sources"]["events"]["files_already_ingested"] == 1
    bronze = lakehouse.read("events_bronze").select("id", "name", "amount", "_source_file", "_batch_date")
    assert_df_equality(
        bronze,
        spark.createDataFrame([(1, "a", 1.0, F1, D1), (2, "b", 2.0, F1, D1), (3, "c", 3.0, F2, D2)],
                              "id int, name string, amount double, _source_file string, _batch_date date"),
        ignore_row_order=True, ignore_nullable=True,
    )
    log = lakehouse.read("ingest_log").select("source", "path", "rows_read", "rows_accepted", "rows_quarantined",
                                              "batch_date")
    assert_df_equality(
        log,
        spark.createDataFrame([("events", F1, 2, 2, 0, D1), ("events", F2, 1, 1, 0, D2)],
                              "source string, path string, rows_read long, rows_accepted long, "
                              "rows_quarantined long, batch_date date"),
        ignore_row_order=True, ignore_nullable=True,
    )
    # each bronze row carries its own batch's id and ingestion time, as the ingest log records them
    lineage = lakehouse.read("events_bronze").select("_source_file", "_batch_id", "_ingested_at").distinct()
    logged = lakehouse.read("ingest_log").select(F.col("path").alias("_source_file"),
                                                 F.col("batch_id").alias("_batch_id"),
                                                 F.col("ingested_at").alias("_ingested_at"))
    assert_df_equality(lineage, logged, ignore_row_order=True, ignore_nullable=True)
    (a, b) = sorted(logged.collect(), key=lambda r: r["_source_file"])
    assert a["_batch_id"] != b["_batch_id"] and a["_ingested_at"] < b["_ingested_at"]

    before = versions(lakehouse)
    for dates in ([D2], [D1, D2]):
        again = run_ingest(dates)
        assert again.summary["sources"]["events"]["files_ingested"] == 0
        assert versions(lakehouse) == before


def test_quarantine_table_and_conservation(spark: SparkSession, home: Path, run_ingest: Runner,
                                           lakehouse: Lakehouse) -> None:
    write_events(home, D1, "1,a,1.0", "2,b,oops", "3,NA,3.0", "4,d,4.0,extra")
    result = run_ingest([D1])
    s = result.summary["sources"]["events"]
    assert (s["rows_read"], s["rows_accepted"], s["rows_quarantined"]) == (4, 1, 3)
    got = lakehouse.read("events_bronze_quarantine").select("_raw_record", "_reason", "_source_file", "_batch_date")
    assert_df_equality(
        got,
        spark.createDataFrame(
            [("2,b,oops", "wrong type in column amount: expected double, got 'oops'", F1, D1),
             ("3,NA,3.0", "missing required column name", F1, D1),
             ("4,d,4.0,extra", "unparsable line: expected 3 fields with balanced quotes", F1, D1)],
            "_raw_record string, _reason string, _source_file string, _batch_date date"),
        ignore_row_order=True, ignore_nullable=True,
    )
    assert lakehouse.read("events_bronze").count() + got.count() == 4


def test_rows_lost_between_split_and_write_fail_the_batch(home: Path, run_ingest: Runner,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    write_events(home, D1, "1,a,1.0", "2,b,oops")
    split = job.quarantined
    # a split that drops rows
    monkeypatch.setattr(job, "quarantined", lambda parsed, source: split(parsed, source).limit(0))
    with pytest.raises(ConservationError, match="file events/events_2013-01-01.csv: read 2 records but accepted 1 "
                                                r"\+ quarantined 0 = 1"):
        run_ingest([D1])


def test_file_changed_after_it_was_fingerprinted_fails_the_batch(home: Path, run_ingest: Runner,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Its records are counted when it is fingerprinted; bronze is written from what Spark reads later."""
    path = write_events(home, D1, "1,a,1.0", "2,b,2.0")
    read_batch = job.read_batch

    def change_then_read(*args: object) -> object:
        path.write_text(path.read_text(encoding="utf-8").replace("2,b,2.0", "       "), encoding="utf-8")
        return read_batch(*args)

    monkeypatch.setattr(job, "read_batch", change_then_read)
    with pytest.raises(ConservationError, match=r"file events/events_2013-01-01.csv: read 2 records but accepted 1 "
                                                r"\+ quarantined 0 = 1"):
        run_ingest([D1])


def test_corrected_record_in_a_later_file_replaces_the_old_one(spark: SparkSession, home: Path,
                                                               run_ingest: Runner, lakehouse: Lakehouse) -> None:
    write_events(home, D1, "1,a,1.0", "2,b,2.0")
    run_ingest([D1])
    write_events(home, D2, "1,a,1.5")
    run_ingest([D2])
    got = lakehouse.read("events").select("id", "name", "amount", "_source_file")
    assert_df_equality(
        got,
        spark.createDataFrame([(1, "a", 1.5, F2), (2, "b", 2.0, F1)],
                              "id int, name string, amount double, _source_file string"),
        ignore_row_order=True, ignore_nullable=True,
    )
    assert lakehouse.read("events_bronze").count() == 3


def test_changed_file_is_reported_not_reread(home: Path, run_ingest: Runner, lakehouse: Lakehouse) -> None:
    path = write_events(home, D1, "1,a,1.0")
    run_ingest([D1])
    before = versions(lakehouse)
    path.write_text("id,name,amount\n1,a,2.0\n", encoding="utf-8")
    result = run_ingest([D1])
    assert result.summary["sources"]["events"]["changed_files"] == [F1]
    assert "changed after ingestion and were not re-read: " + F1 in result.message
    assert versions(lakehouse) == before


def test_schema_drift_new_column(spark: SparkSession, home: Path, run_ingest: Runner,
                                 lakehouse: Lakehouse) -> None:
    write_events(home, D1, "1,a,1.0")
    run_ingest([D1])
    write_events(home, D2, "2,b,gate 7,2.0", header="id,name,gate,amount")
    before = versions(lakehouse)
    with pytest.raises(InputDataError, match=r"events_2013-01-02.csv has new column\(s\) gate not declared"):
        run_ingest([D2])
    assert versions(lakehouse) == before

    run_ingest([D2], events_config(allow_schema_evolution=True))
    got = lakehouse.read("events").select("id", "name", "amount", "gate")
    assert_df_equality(
        got,
        spark.createDataFrame([(1, "a", 1.0, None), (2, "b", 2.0, "gate 7")],
                              "id int, name string, amount double, gate string"),
        ignore_row_order=True, ignore_nullable=True,
    )


def test_bad_file_fails_before_anything_is_written(home: Path, run_ingest: Runner, lakehouse: Lakehouse) -> None:
    write_events(home, D1, "1,a,1.0")
    write_events(home, D2).write_bytes(b"")
    with pytest.raises(InputDataError, match="events_2013-01-02.csv is empty"):
        run_ingest([D1, D2])
    assert versions(lakehouse) == dict.fromkeys(versions(lakehouse))
    (home / "landing" / "events" / "events_2013-01-01.csv").unlink()
    (home / "landing" / "events" / "events_2013-01-02.csv").unlink()
    (home / "landing" / "events").rmdir()
    with pytest.raises(InputDataError, match="landing folder .*events does not exist"):
        run_ingest([D1])


@pytest.mark.parametrize("bronze_partition_by", [("_batch_date",), ()], ids=["partitioned", "unpartitioned"])
def test_rerun_after_a_crash_converges_to_one_clean_run(spark: SparkSession, home: Path, run_ingest: Runner,
                                                        lakehouse: Lakehouse, monkeypatch: pytest.MonkeyPatch,
                                                        bronze_partition_by: tuple[str, ...]) -> None:
    """Unpartitioned (as the demo's bronze), the replace finds the crashed run's files by their stats."""
    cfg = events_config(bronze_partition_by=bronze_partition_by)
    write_events(home, D1, "1,a,1.0", "2,b,bad")
    write_events(home, D2, "3,c,3.0")

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed")

    with monkeypatch.context() as m:  # bronze and quarantine land, then the job dies before silver
        m.setattr(job, "_upsert", crash)
        with pytest.raises(RuntimeError, match="killed"):
            run_ingest([D1, D2], cfg)
    assert not lakehouse.exists("ingest_log")
    run_ingest([D1], cfg)  # a different range: same files of D1 are replaced, not appended twice
    run_ingest([D1, D2], cfg)
    got = lakehouse.read("events_bronze").select("id", "_source_file")
    assert_df_equality(got, spark.createDataFrame([(1, F1), (3, F2)], "id int, _source_file string"),
                       ignore_row_order=True, ignore_nullable=True)
    assert lakehouse.read("events_bronze_quarantine").count() == 1
    assert lakehouse.read("events").count() == 2
    assert lakehouse.read("ingest_log").count() == 2


def test_a_monthly_source_expects_one_file_per_month(home: Path, run_ingest: Runner, lakehouse: Lakehouse) -> None:
    """With ``schedule.cadence: monthly`` the run dates are months: a file named for any day of a month belongs to
    it (its rows keep the date of its name as their batch date), and a month without a file is the one missing
    date."""
    cfg = events_config()
    assert cfg.pipeline is not None
    schedule = ScheduleConfig(cadence="monthly", start_date=D1)
    monthly = cfg.model_copy(update={"pipeline": cfg.pipeline.model_copy(update={"schedule": schedule})})
    write_events(home, D1, "1,a,1.0")
    write_events(home, dt.date(2013, 3, 31), "2,b,2.0")
    months = [dt.date(2013, 1, 1), dt.date(2013, 2, 1), dt.date(2013, 3, 1)]
    events = run_ingest(months, monthly).summary["sources"]["events"]
    assert (events["files_ingested"], events["missing_dates"]) == (2, ["2013-02-01"])
    batches = lakehouse.read("events_bronze").select("id", "_batch_date").collect()
    assert sorted((r["id"], r["_batch_date"]) for r in batches) == [(1, months[0]), (2, dt.date(2013, 3, 31))]
    assert run_ingest(months, monthly).summary["sources"]["events"]["files_already_ingested"] == 2
