"""delta-rs engine specifics: engine choice, file layout, refused protocols, foreign writers."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest
from chispa import assert_df_equality
from deltalake import DeltaTable, Schema, write_deltalake
from pyspark.sql import functions as F

from deltahelpers import parquet_files, sample
from modelscale.delta import Txn, select_engine
from modelscale.delta.rs.files import footer_stats
from modelscale.errors import ConcurrentWriteError, ConfigError, TableError


def test_unknown_engine_is_rejected(spark):
    with pytest.raises(ConfigError, match="expected auto, native or delta-rs"):
        select_engine(spark, "spark-delta")


def test_deletion_vector_table_is_refused(spark, rs_lake, tmp_path):
    lake = rs_lake(t=dict(location=str(tmp_path / "dv")))
    write_deltalake(lake.location("t"), pa.table({"id": [1, 2, 3]}),
                    configuration={"delta.enableDeletionVectors": "true"})
    assert "deletionVectors" in DeltaTable(lake.location("t")).protocol().reader_features
    with pytest.raises(TableError, match=r"dv uses reader features deletionVectors .* use the native engine"):
        lake.read("t")
    with pytest.raises(TableError, match="deletionVectors"):
        lake.append("t", spark.range(1))


def test_catalog_names_need_the_native_engine(spark, rs_lake):
    lake = rs_lake(t=dict(location="main.silver.t"))
    with pytest.raises(TableError, match=r"main.silver.t is a catalog name"):
        lake.exists("t")


def test_reads_foreign_layout_with_partition_values_from_the_log(spark, rs_lake, tmp_path):
    """delta-rs's own writer uses its own folder encoding: values still come from the log."""
    lake = rs_lake(t=dict(location=str(tmp_path / "foreign"), partition_by=["p", "day"]))
    values = ["a b", "x/y", "k=v", "50%", "ünï", None]
    data = pa.table({"id": pa.array(range(6), pa.int64()), "p": values,
                     "day": pa.array([None, 19000, 19001, 19002, 19003, 19004], pa.date32())})
    write_deltalake(lake.location("t"), data, partition_by=["p", "day"])
    expected = spark.createDataFrame(data.to_pandas()).select("id", "p", "day")
    assert_df_equality(lake.read("t"), expected, ignore_row_order=True, ignore_nullable=True)
    assert lake.read("t", where="p = 'k=v'").collect()[0].id == 2
    lake.append("t", expected.where("id = 1"))
    assert lake.read("t", where="p = 'x/y'").count() == 2


def test_timestamp_partitions_and_stats_prune(spark, rs_lake):
    lake = rs_lake(t=dict(partition_by=["hour"]))
    df = spark.range(4).select("id", F.timestamp_seconds(F.col("id") * 3600).alias("hour"))
    lake.append("t", df)
    assert_df_equality(lake.read("t"), df, ignore_row_order=True, ignore_nullable=True)
    got = lake.read("t", where="hour = timestamp'1970-01-01 02:00:00'")
    assert [r.id for r in got.collect()] == [2] and len(got.inputFiles()) == 1


def test_unpartitioned_writes_use_sparks_parquet_writer_with_int64_timestamps_and_stats(spark, rs_lake):
    import pyarrow.parquet as pq

    lake = rs_lake(t={})
    df = spark.range(0, 6, numPartitions=2).select("id", F.timestamp_seconds(F.col("id") * 3600).alias("ts"))
    assert lake.append("t", df.where("id < 3")).files_added == 1  # the other task's rows: none, so no file
    lake.append("t", df.where("id >= 3"))
    adds = pa.table(DeltaTable(lake.location("t")).get_add_actions(flatten=True)).to_pylist()
    # one folder per write, and nothing in it besides the committed files
    folders = sorted({a["path"].split("/")[0] for a in adds})
    assert len(folders) == 2 and all(f.startswith("write-") for f in folders)
    assert sorted(str(p.relative_to(lake.location("t"))) for f in folders
                  for p in (Path(lake.location("t")) / f).iterdir()) == sorted(a["path"] for a in adds)
    column = pq.read_metadata(Path(lake.location("t")) / adds[0]["path"]).schema.column(1)
    assert (column.physical_type, column.logical_type.type) == ("INT64", "TIMESTAMP")
    assert sorted((a["num_records"], a["min.id"], a["max.ts"].hour) for a in adds) == [(3, 0, 2), (3, 3, 5)]
    got = lake.read("t", where="id >= 4")
    assert sorted(r.id for r in got.collect()) == [4, 5] and len(got.inputFiles()) == 1


def test_unpartitioned_write_that_commits_nothing_leaves_no_folder(spark, rs_lake):
    lake = rs_lake(t={})
    lake.append("t", spark.range(2))
    assert not lake.append("t", spark.range(0)).committed
    engine, ref, txn = lake.engine, lake.catalog.table("t"), Txn("retry", 1)

    def write_with_txn():  # the engine itself, not Lakehouse, which would skip the retry before writing
        return engine.write(ref, spark.range(1), overwrite=False, replace_where=None, txn=txn, new_columns=[],
                            metadata={})

    first, retry = write_with_txn(), write_with_txn()
    assert (first.committed, retry.committed, lake.version("t"), lake.read("t").count()) == (True, False, 1, 3)
    assert len([p for p in Path(lake.location("t")).iterdir() if p.name.startswith("write-")]) == 2


def test_files_roll_at_target_size_with_bounded_open_writers(spark, rs_lake):
    lake = rs_lake(target_file_size_mb=1, max_open_files_per_task=1, t=dict(partition_by=["p"]))
    df = spark.range(0, 400_000, numPartitions=1).select(
        "id", F.rand(1).alias("x"), (F.col("id") % 2).cast("string").alias("p"))
    result = lake.append("t", df)
    assert result.rows_written == 400_000
    sizes = pa.table(DeltaTable(lake.location("t")).get_add_actions(flatten=True))["size_bytes"].to_pylist()
    # 3.2 MB per partition value alternating in every batch: one open file at a time, each ~<= 1 MB + a row group
    assert len(sizes) > 4 and max(sizes) < 2.5 * 1024 * 1024
    assert lake.read("t").count() == 400_000 and lake.read("t", where="p = '1'").count() == 200_000


def test_unpartitioned_files_roll_at_target_size_by_row_width(spark, rs_lake):
    from modelscale.delta.rs.spark_files import row_bytes

    lake = rs_lake(target_file_size_mb=1, t={})
    df = spark.range(0, 400_000, numPartitions=1).select("id", F.rand(1).alias("x"))
    assert row_bytes(df.schema) == 16  # so at most 65,536 rows per 1 MB file
    assert lake.append("t", df).files_added == 7
    adds = pa.table(DeltaTable(lake.location("t")).get_add_actions(flatten=True))
    assert max(adds["num_records"].to_pylist()) == 65_536 and max(adds["size_bytes"].to_pylist()) < 1.1 * 1024 * 1024
    assert lake.read("t").count() == 400_000


def test_footer_stats_match_the_data(tmp_path):
    import pyarrow.parquet as pq

    path = str(tmp_path / "f.parquet")
    pq.write_table(pa.table({"a": [3, None, 1], "s": ["b", "a", None], "b": [True, False, None]}), path)
    stats = footer_stats(pq.read_metadata(path))
    assert stats == {"numRecords": 3, "minValues": {"a": 1, "s": "a"}, "maxValues": {"a": 3, "s": "b"},
                     "nullCount": {"a": 1, "s": 1, "b": 1}}


def test_no_leftover_plan_files(spark, rs_lake):
    lake = rs_lake(t={})
    lake.append("t", spark.range(3))
    assert [p for p in Path(lake.location("t")).rglob("*") if p.is_file() and "_modelscale" in p.parts] == []


def test_generated_column_table_refuses_writes_but_reads(spark, rs_lake, tmp_path):
    lake = rs_lake(t=dict(location=str(tmp_path / "gen")))
    schema = {"type": "struct", "fields": [
        {"name": "id", "type": "long", "nullable": True, "metadata": {}},
        {"name": "double_id", "type": "long", "nullable": True, "metadata": {"delta.generationExpression": "id * 2"}},
    ]}
    DeltaTable.create(lake.location("t"), Schema.from_json(json.dumps(schema)))
    assert lake.read("t").count() == 0
    with pytest.raises(TableError, match=r"gen uses generation expressions.*native engine"):
        lake.append("t", spark.range(2).selectExpr("id", "id * 2 as double_id"))
    assert lake.version("t") == 0


def _files_per_value(location: str, column: str) -> dict[str, int]:
    actions = pa.table(DeltaTable(location).get_add_actions(flatten=True))
    counts: dict[str, int] = {}
    for value in actions[f"partition.{column}"].to_pylist():
        counts[str(value)] = counts.get(str(value), 0) + 1
    return counts


def test_one_file_per_partition_value_per_task(spark, rs_lake):
    """50 values in 2 tasks, 4 open writers per task, each value's rows spread over every Arrow batch."""
    lake = rs_lake(max_open_files_per_task=4, clustered=dict(partition_by=["p"]), spread=dict(partition_by=["p"]))
    df = spark.range(0, 100_000, numPartitions=2).select("id", (F.col("id") % 50).cast("string").alias("p"))
    # clustered by p (as the ingest does before a write): every value in one task, so exactly one file
    lake.append("clustered", lake.clustered("clustered", df))
    assert _files_per_value(lake.location("clustered"), "p") == {str(v): 1 for v in range(50)}
    # not clustered: every value in both tasks, so exactly one file per value per task
    lake.append("spread", df)
    assert _files_per_value(lake.location("spread"), "p") == {str(v): 2 for v in range(50)}
    assert lake.read("spread").count() == 100_000 and lake.read("clustered", where="p = '7'").count() == 2_000


def test_writer_keeps_one_file_per_value_across_batches_with_few_open_files(tmp_path):
    """Unsorted input: a value reappearing in later batches goes on in its buffered file, not a new one."""
    from modelscale.delta.rs.files import PartitionedFileWriter

    out = PartitionedFileWriter(str(tmp_path), ["p"], target_bytes=128 * 1024 * 1024, max_open=2, data_change=True)
    for b in range(10):
        ids = pa.array(range(b * 100, (b + 1) * 100), pa.int64())
        out.write(pa.RecordBatch.from_arrays([ids, pa.array([str(i % 7) for i in ids.to_pylist()])], ["id", "p"]))
    actions = out.finish()
    assert sorted(a["partition_values"]["p"] for a in actions) == [str(v) for v in range(7)]
    assert sum(json.loads(a["stats"])["numRecords"] for a in actions) == 1_000


def test_first_write_creates_the_table_in_one_commit(spark, rs_lake):
    lake = rs_lake(t=dict(partition_by=["p"], properties={"delta.enableChangeDataFeed": "true"}),
                   checked=dict(constraints={"positive": "id >= 0"}), empty={})
    df = spark.range(0, 4, numPartitions=1).select("id", (F.col("id") % 2).cast("string").alias("p"))
    first = lake.append("t", df)
    assert (first.version, first.committed, first.rows_written, first.files_added) == (0, True, 4, 2)
    table = DeltaTable(lake.location("t"))
    assert len(table.history()) == 1 and table.metadata().partition_columns == ["p"]
    assert table.metadata().configuration == {"delta.enableChangeDataFeed": "true"}
    assert lake.changes("t", 0).count() == 4
    assert_df_equality(lake.read("t"), df, ignore_row_order=True, ignore_nullable=True)
    # constraints are added after CREATE TABLE, so that table's first write is its own commit
    assert lake.append("checked", spark.range(2)).version == 2
    # create() stays an explicit empty create
    assert lake.create("empty", df.schema).version == 0 and lake.info("empty").num_files == 0


def test_writes_from_another_thread_find_the_data_source(spark, rs_lake):
    """The data source is looked up through the thread's active session, which a new thread lacks."""
    import threading

    lake = rs_lake(t={})
    outcome: list[object] = []

    def write() -> None:
        try:
            outcome.append(lake.append("t", spark.range(5)).rows_written)
        except Exception as exc:  # asserted below
            outcome.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join()
    assert outcome == [5]


def test_a_commit_that_landed_keeps_its_files_when_reporting_fails(spark, rs_lake, monkeypatch):
    from modelscale.delta.rs import commit

    lake = rs_lake(t={})
    lake.append("t", spark.range(2))

    def lost(*args: object) -> None:  # the step after the commit file landed
        raise OSError("connection reset while reading the history")

    monkeypatch.setattr(commit, "_checkpoint_if_due", lost)
    with pytest.raises(OSError, match="connection reset"):
        lake.append("t", spark.range(2, 5))
    monkeypatch.undo()
    assert lake.version("t") == 1 and sorted(r.id for r in lake.read("t").collect()) == [0, 1, 2, 3, 4]


def test_data_source_abort_keeps_the_files_of_a_write_the_log_holds(spark, rs_lake):
    from modelscale.delta.rs.log import WRITE_ID_KEY
    from modelscale.delta.rs.source import DeltaRsWriter, FilesWritten

    lake = rs_lake(t=dict(partition_by=["p"]))
    lake.append("t", spark.range(4).select("id", (F.col("id") % 2).cast("string").alias("p")))
    root = lake.location("t")
    write_id = DeltaTable(root).history(1)[0][WRITE_ID_KEY]
    adds = [{"path": p} for p in pa.table(DeltaTable(root).get_add_actions(flatten=True))["path"].to_pylist()]

    def writer(write_id: str) -> DeltaRsWriter:
        return DeltaRsWriter({"path": root, "plan": "", "result": "", "write_id": write_id, "target_bytes": "1",
                              "max_open": "1"})

    writer(write_id).abort([FilesWritten(adds)])  # the commit landed: its files are live
    assert lake.read("t").count() == 4
    writer("another-write").abort([FilesWritten(adds)])  # a write that never landed: its files go
    assert not any((Path(root) / a["path"]).exists() for a in adds)


def test_merge_skips_files_whose_key_statistics_rule_the_source_out(spark, rs_lake):
    """Reads a file's absence: the native engine's data skipping is Delta's own."""
    lake = rs_lake(t={})
    lake.append("t", sample(spark, range(0, 3)))
    (early,) = DeltaTable(lake.location("t")).file_uris()
    for first in (10, 20):  # one file per append: ids 10-12, 20-22
        lake.append("t", sample(spark, range(first, first + 3)))
    Path(early.removeprefix("file://")).unlink()  # ids 0-2: reading this file would fail, so the merge must not
    result = lake.merge("t", sample(spark, [11, 30]).withColumn("amount", F.lit(-1.0)), ["id"])
    assert result.metrics == {"rows_updated": 1, "rows_inserted": 1, "rows_deleted": 0, "rows_copied": 2}
    assert result.files_removed == 1  # the file of ids 10-12; 20-22 was probed and kept
    assert early in set(DeltaTable(lake.location("t")).file_uris())


def test_conflicting_rewrites_race_cleanly(spark, rs_lake):
    """Two merges in threads of one session that read the same snapshot and rewrite the same file: one wins,
    the other fails clearly. (The native engine runs one MERGE per session at a time: Delta takes a merge's
    txn marker and user metadata from session confs.)"""
    lake = rs_lake(t={})
    lake.append("t", sample(spark, range(4)))
    start, before = lake.version("t"), set(parquet_files(lake.location("t")))

    @F.udf("double")
    def slow(x: float) -> float:
        time.sleep(1.5)
        return x

    outcomes: list[object] = []

    def merge(amount: float) -> None:
        src = sample(spark, [1]).withColumn("amount", slow(F.lit(amount)))
        try:
            outcomes.append(lake.merge("t", src, ["id"]))
        except BaseException as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=merge, args=(a,)) for a in (10.0, 20.0)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], ConcurrentWriteError), outcomes
    assert "concurrent" in str(errors[0])
    assert lake.version("t") == start + 1
    got = lake.read("t")
    assert got.count() == 4 and got.where("id = 1").first().amount in (10.0, 20.0)
    # the loser's files were deleted by abort: only the winner's new file was added on disk
    active = {str(Path(u).relative_to(lake.location("t"))) for u in DeltaTable(lake.location("t")).file_uris()}
    assert set(parquet_files(lake.location("t"))) - before == active - before != set()


def test_storage_without_create_if_absent_commits_through_delta_rs(spark, rs_lake, monkeypatch):
    """On object storage (no hard links) delta-rs makes the commit: the same table, the real operation under
    our key, Delta's metrics and predicate, and the write still idempotent. (Unpartitioned: this process
    commits; a partitioned table's commit runs in the data source's Python worker, beyond the patch.)"""
    from modelscale.delta.rs import log

    monkeypatch.setattr(log, "is_local", lambda root: False)
    lake = rs_lake(t={})
    lake.append("t", sample(spark, range(4), "a").unionByName(sample(spark, [4], "b")), txn=Txn("load", 1),
                metadata={"run_id": "r1"})
    merged = lake.merge("t", sample(spark, [1, 9], "a").withColumn("amount", F.lit(-1.0)), ["id"])
    lake.overwrite("t", sample(spark, [7], "b"), replace_where="part = 'b'")
    assert not lake.append("t", sample(spark, [5]), txn=Txn("load", 1)).committed
    assert merged.metrics == {"rows_updated": 1, "rows_inserted": 1, "rows_deleted": 0, "rows_copied": 4}
    assert sorted(r.id for r in lake.read("t").collect()) == [0, 1, 2, 3, 7, 9]
    history = {h["version"]: h for h in lake.history("t")}
    assert [history[v]["operation"] for v in range(3)] == ["WRITE", "MERGE", "WRITE"]
    assert history[0]["run_id"] == "r1" and history[2]["operationParameters"]["predicate"] == "part = 'b'"
    assert history[1]["operationMetrics"]["numTargetRowsUpdated"] == "1"
    raw = DeltaTable(lake.location("t")).history()
    assert {h["operation"] for h in raw} == {"CREATE TABLE", "WRITE"}  # what delta-rs itself records there
