"""The Delta contract, run against every available engine (native skips without the Delta jars)."""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import threading
import time
from pathlib import Path

import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from deltahelpers import SCHEMA, parquet_files, rows, same, sample
from modelscale.delta import Txn
from modelscale.errors import ConcurrentWriteError, SchemaMismatchError, TableError

def test_create_from_config_is_idempotent(spark, lakehouse):
    lake = lakehouse(t=dict(partition_by=["part"], properties={"delta.appendOnly": "false"}))
    schema = StructType.fromDDL(SCHEMA)
    first = lake.create("t", schema)
    assert first.committed and first.version == 0 and lake.exists("t")
    again = lake.create("t", schema)
    assert not again.committed and again.version == 0
    info = lake.info("t")
    assert (info.partition_by, info.num_files, info.num_rows) == (["part"], 0, 0)
    assert lake.read("t").schema.simpleString() == schema.simpleString()
    assert lake.read("t").count() == 0
    with pytest.raises(SchemaMismatchError, match=r"amount double.*amount string"):
        lake.create("t", StructType.fromDDL(SCHEMA.replace("amount double", "amount string")))


def test_append_round_trips_types_and_matches_delta_rs_reader(spark, lakehouse):
    lake = lakehouse(t=dict(partition_by=["part"]))
    df = sample(spark, range(5)).unionByName(sample(spark, range(5, 8), part="b"))
    result = lake.append("t", df)
    assert (result.committed, result.operation, result.rows_written) == (True, "WRITE", 8)
    assert result.files_added == lake.info("t").num_files >= 2
    same(lake.read("t"), df)
    arrow = DeltaTable(lake.location("t")).to_pyarrow_table()
    same(spark.createDataFrame(arrow.select(df.columns).to_pylist(), df.schema), df)
    assert lake.info("t").num_rows == 8


def test_overwrite_is_one_commit(spark, lakehouse):
    lake = lakehouse(t={})
    lake.append("t", sample(spark, range(3)))
    before = lake.version("t")
    result = lake.overwrite("t", sample(spark, range(10, 12)), metadata={"run": "r1"})
    assert result.version == before + 1 and result.files_removed == 1 and result.rows_written == 2
    assert lake.info("t").num_files == result.files_added
    same(lake.read("t"), sample(spark, range(10, 12)))
    last = lake.history("t", limit=1)[0]
    assert (last["operation"], last["operationParameters"]["mode"], last["run"]) == ("WRITE", "Overwrite", "r1")
    assert "predicate" not in last["operationParameters"]
    assert last["operationMetrics"]["numRemovedFiles"] == "1" and last["operationMetrics"]["numOutputRows"] == "2"


def test_replace_where_partition_and_data_predicates(spark, lakehouse):
    lake = lakehouse(t=dict(partition_by=["part"]))
    lake.append("t", sample(spark, range(4), "a").unionByName(sample(spark, range(4, 8), "b")))
    lake.overwrite("t", sample(spark, range(100, 102), "a"), replace_where="part = 'a'")
    same(lake.read("t"), sample(spark, range(100, 102), "a").unionByName(sample(spark, range(4, 8), "b")))
    # a data-column predicate keeps the other rows of the rewritten files
    replacement = sample(spark, [6], "b").withColumn("amount", F.lit(-1.0))
    lake.overwrite("t", replacement, replace_where="part = 'b' AND id >= 6")
    same(lake.read("t"), sample(spark, range(100, 102), "a").unionByName(sample(spark, [4, 5], "b"))
         .unionByName(replacement))
    version = lake.version("t")
    with pytest.raises(TableError, match=r"replace_where rows must satisfy part = 'a'"):
        lake.overwrite("t", sample(spark, [1], "b"), replace_where="part = 'a'")
    assert lake.version("t") == version


def test_an_unchanged_replacement_commits_nothing(spark, lakehouse):
    """A rerun's rows equal but for their lineage (here ``ts``): no commit; any other difference commits."""
    lake = lakehouse(t=dict(partition_by=["part"]))
    lake.append("t", sample(spark, range(4), "a").unionByName(sample(spark, range(4, 6), "b")))
    version = lake.version("t")
    rerun = sample(spark, range(4), "a").withColumn("ts", F.current_timestamp())
    result = lake.overwrite("t", rerun, replace_where="part = 'a'", skip_unchanged=["ts"])
    assert (result.committed, result.version, lake.version("t")) == (False, version, version)
    changed = rerun.withColumn("amount", F.when(F.col("id") == 2, F.lit(None)).otherwise(F.col("amount")))
    result = lake.overwrite("t", changed, replace_where="part = 'a'", skip_unchanged=["ts"])
    assert result.committed and result.version == version + 1
    assert lake.read("t", where="id = 2").first().amount is None


def test_a_replacement_lacking_a_column_compares_as_the_nulls_it_writes(spark, lakehouse):
    """A write without a nullable column of the table gives its rows nulls there: it commits while the table's
    rows hold a value in that column, and a rerun of it commits nothing."""
    lake = lakehouse(t=dict(partition_by=["part"]))
    lake.append("t", sample(spark, range(4), "a").withColumn("note", F.when(F.col("id") == 1, F.lit("x"))))
    version = lake.version("t")
    rerun = sample(spark, range(4), "a").withColumn("ts", F.current_timestamp())
    result = lake.overwrite("t", rerun, replace_where="part = 'a'", skip_unchanged=["ts"])
    assert result.committed and lake.version("t") == version + 1
    assert lake.read("t").where("note IS NOT NULL").count() == 0
    again = lake.overwrite("t", rerun, replace_where="part = 'a'", skip_unchanged=["ts"])
    assert (again.committed, lake.version("t")) == (False, version + 1)


def test_same_rows_tells_nulls_in_different_columns_apart(spark):
    from modelscale.delta.lakehouse import same_rows

    one = spark.createDataFrame([(1, None), (None, 1)], "a int, b int")
    assert same_rows(one, one.orderBy("b"))
    assert not same_rows(one, spark.createDataFrame([(1, None), (1, None)], "a int, b int"))
    assert not same_rows(one, spark.createDataFrame([(None, 1), (None, 1)], "a int, b int"))
    assert same_rows(one.withColumn("at", F.current_timestamp()), one, ignoring=["at"])
    assert same_rows(spark.sql("SELECT 0.1D + 0.2D AS x"), spark.sql("SELECT 0.3D AS x"))  # summed in another order
    assert not same_rows(spark.sql("SELECT 0.3000001D AS x"), spark.sql("SELECT 0.3D AS x"))


def test_replace_where_on_partition_columns_rewrites_no_other_file(spark, lakehouse):
    lake = lakehouse(t=dict(partition_by=["day"]))
    lake.append("t", sample(spark, range(5)).repartition(5, "day"))  # days 2024-01-01 .. 2024-01-05
    before = set(DeltaTable(lake.location("t")).file_uris())
    new = sample(spark, [1]).withColumn("amount", F.lit(-1.0))  # day 2024-01-02 only
    # whole partitions are dropped from the log, never read: even a file gone from storage is no obstacle
    Path(next(u for u in before if "day=2024-01-03" in u).removeprefix("file://")).unlink()
    result = lake.overwrite("t", new, replace_where="day BETWEEN '2024-01-02' AND '2024-01-03'")
    # the two replaced days' files go; the other days' files stay as they were (no rows rewritten)
    assert (result.rows_written, result.files_removed) == (1, 2)
    after = set(DeltaTable(lake.location("t")).file_uris())
    assert len(before - after) == 2 and len(before & after) == 3
    same(lake.read("t"), sample(spark, [0, 3, 4]).unionByName(new))


def test_merge_updates_inserts_and_reports_metrics(spark, lakehouse):
    lake = lakehouse(t=dict(partition_by=["part"]))
    lake.append("t", sample(spark, range(4), "a").unionByName(sample(spark, range(4, 6), "b")))
    files_of_a = len(lake.read("t", where="part = 'a'").inputFiles())
    source = sample(spark, [1, 2], "a").withColumn("amount", F.lit(-1.0)).unionByName(sample(spark, [9], "c"))
    result = lake.merge("t", source, ["id"])
    assert result.operation == "MERGE" and result.committed
    assert result.metrics == {"rows_updated": 2, "rows_inserted": 1, "rows_deleted": 0, "rows_copied": 2}
    # only the file of partition a held matched keys: b's file is untouched
    assert result.files_removed == files_of_a
    expected = (sample(spark, [0, 3], "a").unionByName(sample(spark, range(4, 6), "b")).unionByName(source))
    same(lake.read("t"), expected)


def test_merge_of_only_new_keys_adds_files_and_removes_none(spark, lakehouse):
    lake = lakehouse(t=dict(partition_by=["part"]))
    lake.append("t", sample(spark, range(3), "a"))
    before = set(DeltaTable(lake.location("t")).file_uris())
    result = lake.merge("t", sample(spark, [7, 8], "a").unionByName(sample(spark, [9], "b")), ["id"])
    assert result.metrics == {"rows_updated": 0, "rows_inserted": 3, "rows_deleted": 0, "rows_copied": 0}
    assert (result.files_removed, result.rows_written) == (0, 3)
    assert before <= set(DeltaTable(lake.location("t")).file_uris())
    same(lake.read("t"), sample(spark, [0, 1, 2, 7, 8], "a").unionByName(sample(spark, [9], "b")))


def test_merge_update_condition_and_delete_missing(spark, lakehouse):
    lake = lakehouse(t={})
    lake.append("t", sample(spark, range(4)))
    newer = sample(spark, [0]).withColumn("ts", F.lit(dt.datetime(2030, 1, 1)))
    older = sample(spark, [1]).withColumn("ts", F.lit(dt.datetime(2000, 1, 1))).withColumn("amount", F.lit(-5.0))
    result = lake.merge("t", newer.unionByName(older), ["id"], update_condition="s.ts > t.ts", delete_missing=True)
    assert result.metrics == {"rows_updated": 1, "rows_inserted": 0, "rows_deleted": 2, "rows_copied": 1}
    same(lake.read("t"), newer.unionByName(sample(spark, [1])))


def test_merge_duplicate_source_keys_fail_before_commit(spark, lakehouse):
    lake = lakehouse(t={})
    lake.append("t", sample(spark, range(3)))
    version = lake.version("t")
    with pytest.raises(TableError, match=r"more than one row for key \(id\) = \(7\)"):
        lake.merge("t", sample(spark, [7, 7, 8]), ["id"])
    assert lake.version("t") == version


def test_time_travel_by_version_and_timestamp(spark, lakehouse):
    lake = lakehouse(t={})
    v1 = lake.append("t", sample(spark, range(2))).version
    time.sleep(1.1)
    between = dt.datetime.now(dt.UTC)
    time.sleep(1.1)
    lake.append("t", sample(spark, range(2, 5)))
    assert lake.read("t").count() == 5
    same(lake.read("t", version=v1), sample(spark, range(2)))
    same(lake.read("t", timestamp=between), sample(spark, range(2)))
    same(lake.read("t", timestamp=between.isoformat()), sample(spark, range(2)))


def test_history_and_txn_idempotence(spark, lakehouse):
    lake = lakehouse(t={})
    first = lake.append("t", sample(spark, range(2)), txn=Txn("daily", 20240101), metadata={"run_date": "2024-01-01"})
    again = lake.append("t", sample(spark, range(2)), txn=Txn("daily", 20240101))
    older = lake.overwrite("t", sample(spark, range(9)), txn=Txn("daily", 20231231))
    merged = lake.merge("t", sample(spark, [1, 7]), ["id"], txn=Txn("daily", 20240101))
    assert first.committed and not again.committed and not older.committed and not merged.committed
    assert again.version == first.version == lake.version("t")
    assert lake.txn_version("t", "daily") == 20240101 and lake.txn_version("t", "other") is None
    assert lake.read("t").count() == 2
    # the first write creates the missing table with its data: one commit, which holds the txn
    assert [(h["version"], h["operation"]) for h in lake.history("t")] == [(0, "WRITE")]
    assert lake.history("t", limit=1)[0]["run_date"] == "2024-01-01"


def test_history_records_each_operation_with_its_metrics(spark, lakehouse):
    """What Delta's own history (and any reader of the log) shows for each kind of commit."""
    lake = lakehouse(t=dict(partition_by=["part"]))
    lake.create("t", StructType.fromDDL(SCHEMA))
    lake.append("t", sample(spark, range(4), "a").unionByName(sample(spark, range(4, 6), "b")),
                metadata={"run_id": "r1"})
    merged = lake.merge("t", sample(spark, [1]).withColumn("amount", F.lit(-1.0)).unionByName(sample(spark, [9])),
                        ["id"])
    lake.overwrite("t", sample(spark, [7], "b"), replace_where="part = 'b'")
    lake.append("t", sample(spark, [8], "a"))
    lake.optimize("t")
    history = {h["version"]: h for h in lake.history("t")}
    assert [history[v]["operation"] for v in range(6)] == ["CREATE TABLE", "WRITE", "MERGE", "WRITE", "WRITE",
                                                          "OPTIMIZE"]
    append, merge, replace = history[1], history[2], history[3]
    assert (append["operationParameters"]["mode"], append["run_id"]) == ("Append", "r1")
    assert append["operationMetrics"]["numOutputRows"] == "6"
    counts = merge["operationMetrics"]
    assert {k: int(counts[m]) for k, m in (("rows_updated", "numTargetRowsUpdated"), ("rows_inserted",
            "numTargetRowsInserted"), ("rows_deleted", "numTargetRowsDeleted"))} == \
        {k: v for k, v in merged.metrics.items() if k != "rows_copied"} == \
        {"rows_updated": 1, "rows_inserted": 1, "rows_deleted": 0}
    assert int(counts["numTargetFilesRemoved"]) == merged.files_removed >= 1
    assert replace["operationParameters"]["mode"] == "Overwrite"
    assert "part = 'b'" in replace["operationParameters"]["predicate"]
    assert int(replace["operationMetrics"]["numRemovedFiles"]) >= 1
    assert int(history[5]["operationMetrics"]["numRemovedFiles"]) >= 2
    # the log itself says so, for any reader: delta-rs reads the same operations back
    assert [h["operation"] for h in DeltaTable(lake.location("t")).history()][:4] == ["OPTIMIZE", "WRITE", "WRITE",
                                                                                     "MERGE"]
    merge_commit = Path(lake.location("t"), "_delta_log", f"{2:020d}.json").read_text().splitlines()
    assert json.loads(merge_commit[0])["commitInfo"]["operation"] == "MERGE"


def test_schema_enforcement_and_evolution(spark, lakehouse):
    lake = lakehouse(t={})
    lake.append("t", sample(spark, range(2)))
    version = lake.version("t")
    with pytest.raises(SchemaMismatchError, match=r"extra string.*merge_schema=True"):
        lake.append("t", sample(spark, [5]).withColumn("extra", F.lit("x")))
    with pytest.raises(SchemaMismatchError, match=r"amount \(table double, write string\)"):
        lake.append("t", sample(spark, [5]).withColumn("amount", F.lit("x")))
    assert lake.version("t") == version
    # missing nullable columns are written as nulls
    lake.append("t", sample(spark, [3]).drop("price"))
    assert lake.read("t", where="id = 3").first().price is None
    lake.append("t", sample(spark, [4]).withColumn("extra", F.lit("x")), merge_schema=True)
    got = lake.read("t")
    assert got.columns[-1] == "extra"
    assert sorted((r.id, r.extra) for r in got.collect()) == [(0, None), (1, None), (3, None), (4, "x")]


def test_constraints_fail_the_write_and_keep_the_version(spark, lakehouse):
    lake = lakehouse(t=dict(constraints={"positive_amount": "amount >= 0"}))
    lake.create("t", StructType.fromDDL("id long not null, amount double"))
    lake.append("t", rows(spark, [(1, 1.0)], "id long, amount double"))
    version = lake.version("t")
    with pytest.raises(TableError, match=r"CHECK constraint positive_amount \(amount >= 0\)"):
        lake.append("t", rows(spark, [(2, 1.0), (3, -1.0)], "id long, amount double"))
    with pytest.raises(TableError, match=r"NOT NULL column id"):
        lake.append("t", rows(spark, [(None, 1.0)], "id long, amount double"))
    assert lake.version("t") == version and lake.read("t").count() == 1


def test_failed_task_leaves_table_and_files_unchanged(spark, lakehouse):
    lake = lakehouse(t={})
    lake.append("t", sample(spark, range(4)))
    version, files = lake.version("t"), set(parquet_files(lake.location("t")))

    @F.udf("double")
    def explode_on_three(i: int) -> float:
        if i == 3:
            raise ValueError("boom in one task")
        return float(i)

    bad = sample(spark, range(4)).repartition(2).withColumn("amount", explode_on_three("id"))
    with pytest.raises(Exception, match="boom in one task"):
        lake.append("t", bad)
    assert lake.version("t") == version
    assert lake.read("t").count() == 4
    # A task that finished just as the job failed can leave its file behind (its commit message never
    # reached the abort); no version references it, so vacuum removes it and nothing else.
    lake.vacuum("t", retention_hours=0)
    assert set(parquet_files(lake.location("t"))) == files


def test_concurrent_appends_both_land(spark, lakehouse):
    lake = lakehouse(t={})
    lake.create("t", StructType.fromDDL(SCHEMA))
    errors: list[BaseException] = []

    def append(ids: range) -> None:
        try:
            lake.append("t", sample(spark, ids))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(r,)) for r in (range(0, 3), range(3, 6))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    assert lake.version("t") == 2
    same(lake.read("t"), sample(spark, range(6)))


def test_merge_racing_an_append_of_the_same_key_fails_cleanly(spark, lakehouse, tmp_path):
    """The append commits while the merge runs on the snapshot it read: the merge would have inserted a key
    the append added, so it fails with ConcurrentWriteError and the table holds the appended row once."""
    lake = lakehouse(t={})
    lake.append("t", sample(spark, range(4)))
    start = lake.version("t")
    started, appended, released = (str(tmp_path / name) for name in ("started", "appended", "released"))
    os.mkfifo(started)
    os.mkfifo(appended)

    @F.udf("double")
    def held(x: float) -> float:  # the merge's first evaluation waits here for the append to commit
        if not os.path.exists(released):
            with open(started, "w") as f:
                f.write("merge running\n")
            with open(appended) as f:
                f.read()
            open(released, "w").close()
        return x

    def append_when_started() -> None:
        fd = os.open(started, os.O_RDONLY | os.O_NONBLOCK)
        try:
            assert select.select([fd], [], [], 300)[0], "the merge never started"
            os.read(fd, 100)
        finally:
            os.close(fd)
        lake.append("t", sample(spark, [9]))
        with open(appended, "w") as f:
            f.write("appended\n")

    appender = threading.Thread(target=append_when_started)
    appender.start()
    with pytest.raises(ConcurrentWriteError, match=r"table .*t.*(conflicts with|concurrent)"):
        lake.merge("t", sample(spark, [1, 9]).withColumn("amount", held(F.lit(-1.0))), ["id"])
    appender.join()
    assert lake.version("t") == start + 1
    same(lake.read("t"), sample(spark, [*range(4), 9]))
    # the merge's files are gone, or unreferenced and removed by the first vacuum: nothing of it remains
    lake.vacuum("t", retention_hours=0)
    active = {str(Path(u).relative_to(lake.location("t"))) for u in DeltaTable(lake.location("t")).file_uris()}
    assert set(parquet_files(lake.location("t"))) == active


PARTITION_VALUES = ["with space", "a/b", "k=v", "100%", "naïve ünïcödé 東京", None, "007", "q?*[x]{y}"]


def test_partition_values_round_trip(spark, lakehouse):
    lake = lakehouse(t=dict(partition_by=["part"]))
    df = rows(spark, [(i, v, float(i), None, None, None, None) for i, v in enumerate(PARTITION_VALUES)])
    lake.append("t", df)
    same(lake.read("t"), df)
    assert lake.read("t", where="part = 'a/b'").collect()[0].id == 1
    assert lake.read("t", where="part IS NULL").collect()[0].id == 5
    arrow = DeltaTable(lake.location("t")).to_pyarrow_table()
    assert sorted(zip(arrow["id"].to_pylist(), arrow["part"].to_pylist())) == list(enumerate(PARTITION_VALUES))


def test_where_prunes_files(spark, lakehouse):
    lake = lakehouse(t=dict(partition_by=["part"]))
    for part in "abc":
        lake.append("t", sample(spark, range(10), part))
    lake.append("t", sample(spark, range(100, 110), "a"))
    assert len(lake.read("t").inputFiles()) == 4
    by_partition = lake.read("t", where="part = 'b'")
    assert len(by_partition.inputFiles()) == 1 and by_partition.count() == 10
    by_stats = lake.read("t", where="id >= 100")
    assert len(by_stats.inputFiles()) == 1 and by_stats.count() == 10


@pytest.mark.parametrize(("partition_by", "compacted", "kept"), [(["part"], 3, 1), ([], 4, 0)],
                         ids=["partitioned", "unpartitioned"])
def test_optimize_compacts_and_vacuum_removes(spark, lakehouse, partition_by, compacted, kept):
    """Partitioned: part a's 3 files become 1, b's single file stays. Unpartitioned: all 4 become 1."""
    lake = lakehouse(t=dict(partition_by=partition_by))
    for i in range(3):
        lake.append("t", sample(spark, range(i * 10, i * 10 + 10), "a"))
    lake.append("t", sample(spark, range(50, 52), "b"))
    before = lake.read("t")
    expected = spark.createDataFrame(before.collect(), before.schema)
    result = lake.optimize("t")
    assert result.committed and result.files_removed == compacted and result.files_added == 1
    assert lake.info("t").num_files == 1 + kept
    same(lake.read("t"), expected)
    assert len(parquet_files(lake.location("t"))) == 5
    removed = lake.vacuum("t", retention_hours=0)
    assert len(removed) == compacted
    assert len(parquet_files(lake.location("t"))) == 1 + kept
    same(lake.read("t"), expected)
    assert not lake.optimize("t").committed


def test_change_data_feed(spark, lakehouse):
    lake = lakehouse(t=dict(properties={"delta.enableChangeDataFeed": "true"}), plain={})
    v1 = lake.append("t", sample(spark, range(3))).version
    lake.merge("t", sample(spark, [1]).withColumn("amount", F.lit(-1.0)).unionByName(sample(spark, [7])), ["id"])
    feed = lake.changes("t", v1).select("id", "amount", "_change_type", "_commit_version")
    # delta-rs reports an update as delete + insert; native Delta as update_preimage + update_postimage
    as_rs = {"update_preimage": "delete", "update_postimage": "insert"}
    got = sorted((i, a, as_rs.get(c, c), v) for i, a, c, v in feed.collect())
    assert got == [(0, 0.0, "insert", v1), (1, -1.0, "insert", v1 + 1), (1, 1.5, "delete", v1 + 1),
                   (1, 1.5, "insert", v1), (2, 3.0, "insert", v1), (7, 10.5, "insert", v1 + 1)]
    lake.append("plain", sample(spark, range(1)))
    with pytest.raises(TableError, match="change data feed is not enabled"):
        lake.changes("plain", 0)
