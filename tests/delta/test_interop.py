"""The two engines on one table: what one writes, the other reads, appends, merges and time-travels, and an
independent reader (delta-rs's own Arrow reader: no Spark, neither engine's code) reads it identically."""

from __future__ import annotations

from pathlib import Path

import pytest
from deltahelpers import lakehouse_factory, same, sample
from deltalake import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from modelscale.delta import Lakehouse, Txn

HANDOVERS = [("native", "delta-rs"), ("delta-rs", "native")]
TABLE = dict(partition_by=["part"], properties={"delta.enableChangeDataFeed": "true",
                                                 "delta.checkpointInterval": "4"})


def engines(spark: SparkSession, root: Path, first: str, second: str) -> tuple[Lakehouse, Lakehouse]:
    return (lakehouse_factory(spark, root, first)(t=TABLE), lakehouse_factory(spark, root, second)(t=TABLE))


def independently_read(lake: Lakehouse, spark: SparkSession, like: DataFrame, version: int | None = None) -> DataFrame:
    table = DeltaTable(lake.location("t"), version=version)
    return spark.createDataFrame(table.to_pyarrow_table().select(like.columns).to_pylist(), like.schema)


@pytest.mark.parametrize(("first", "second"), HANDOVERS, ids=["native-then-delta-rs", "delta-rs-then-native"])
def test_one_engine_continues_what_the_other_wrote(spark, tmp_path, first, second):
    a, b = engines(spark, tmp_path, first, second)
    a.append("t", sample(spark, range(4), "a").unionByName(sample(spark, range(4, 6), "b")), txn=Txn("load", 1))
    a.merge("t", sample(spark, [1]).withColumn("amount", F.lit(-1.0)).unionByName(sample(spark, [6], "b")), ["id"])
    handed_over = a.version("t")
    expected = (sample(spark, [0, 2, 3]).unionByName(sample(spark, [1]).withColumn("amount", F.lit(-1.0)))
                .unionByName(sample(spark, [4, 5, 6], "b")))
    same(b.read("t"), expected)

    # the second engine honours the first's txn, then appends, merges and replaces
    assert not b.append("t", sample(spark, range(4)), txn=Txn("load", 1)).committed
    assert b.txn_version("t", "load") == 1
    b.append("t", sample(spark, [7], "c"), txn=Txn("load", 2))
    merged = b.merge("t", sample(spark, [2, 8]).withColumn("amount", F.lit(-2.0)), ["id"])
    assert merged.metrics == {"rows_updated": 1, "rows_inserted": 1, "rows_deleted": 0,
                              "rows_copied": merged.metrics["rows_copied"]}
    b.overwrite("t", sample(spark, [9], "b"), replace_where="part = 'b'")
    final = (sample(spark, [0, 3]).unionByName(sample(spark, [1]).withColumn("amount", F.lit(-1.0)))
             .unionByName(sample(spark, [2, 8]).withColumn("amount", F.lit(-2.0)))
             .unionByName(sample(spark, [9], "b")).unionByName(sample(spark, [7], "c")))

    # either engine and the independent reader see the same table, now and at the handover
    for lake in (a, b):
        same(lake.read("t"), final)
        same(lake.read("t", version=handed_over), expected)
    same(independently_read(a, spark, final), final)
    same(independently_read(a, spark, final, version=handed_over), expected)
    # a checkpoint every 4 commits, by whichever engine made the 4th: both engines start from it
    assert (Path(a.location("t")) / "_delta_log" / f"{4:020d}.checkpoint.parquet").exists()
    assert a.txn_version("t", "load") == b.txn_version("t", "load") == 2

    ops = [h["operation"] for h in sorted(a.history("t"), key=lambda h: h["version"])]
    assert ops == ["WRITE", "MERGE", "WRITE", "MERGE", "WRITE"]
    assert [h["operation"] for h in b.history("t")] == ops[::-1]
