"""Native Delta vs delta-rs vs plain Spark parquet: one session, the same generated rows, the same disk.

    python benchmarks/bench_delta.py [rows]    (default: MODELSCALE_BENCH_ROWS, else 5,000,000)

Each engine ("native", "delta-rs") writes through `Lakehouse`; the baseline is Spark's own parquet:

* write: ``append`` of the rows into a fresh table partitioned by region (8 values) vs
  ``partitionBy("region").parquet``; target ratio >= 0.8;
* read: a full scan + aggregate of that table vs of the parquet copy; target ratio >= 0.9;
* merge: one day's rows (half of them updates of that day's keys, half new keys) MERGEd by (day, id)
  into a year table (the same rows over 365 days, unpartitioned like the silver tables, each file a
  month of consecutive days, as a table filled day by day) vs writing the day's rows as parquet;
  target ratio >= 0.5 (the MERGE under 2x the write). That baseline does none of a MERGE's work (find
  the file holding the day's keys, rewrite it), so a like-for-like one is measured beside it: plain Spark
  upserting the day into a parquet copy of the year (the file holding the day read, the day's keys
  replaced, the file written anew). Each round merges into its own copy of the same year table, copied
  before the timer starts;
* replaceWhere: one date's rows replacing that date in a predictions-shaped year table partitioned
  by flight_date (``overwrite(..., replace_where=...)``, as the score job does) vs writing the rows
  as parquet into the date's folder; no target, reported.

Every comparison runs its three sides in interleaved rounds (`paired`) after an untimed pass of every
case on a small frame (JVM classes, codegen, Python workers). ``ratio`` = parquet seconds / engine
seconds (higher is better); the "native vs delta-rs" records have ratio = delta-rs seconds / native
seconds (> 1: native is faster).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from paired import Paired, rounds, seconds_of
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from modelscale.catalog import Catalog
from modelscale.config.models import PipelineConfig, Settings, SparkSettings
from modelscale.delta import Lakehouse, select_engine
from modelscale.session import get_spark

ENGINES = ("native", "delta-rs")
ROWS = int(os.environ.get("MODELSCALE_BENCH_ROWS", "5000000"))
WARM_ROWS = 10_000
REPEATS = 5  # interleaved rounds of parquet, native and delta-rs per case (see paired.py)
BASE = dt.date(2024, 1, 1)
DAY = BASE + dt.timedelta(days=182)  # the day merged into, and the date replaced in, the year tables
YEAR_FILES = 12  # files of the merge target: a month of consecutive days each
TABLES = {
    "events": {"layer": "silver", "partition_by": ["region"]},
    "year": {"layer": "silver"},  # unpartitioned, like the silver tables
    "predictions": {"layer": "gold", "partition_by": ["flight_date"]},
}
Timed = dict[str, list[float]]  # seconds per round of each side: "parquet" and the engines

# case: (record name, with the engine in {}, target ratio or None, what is compared)
CASES: dict[str, tuple[str, float | None, str]] = {
    "write": ("delta write ({}) vs parquet", 0.8,
              "Lakehouse.append into a fresh table vs Spark parquet, both partitioned by region (8 values)"),
    "read": ("delta read ({}) vs parquet", 0.9, "full scan + aggregate of the written table vs of the parquet copy"),
    "merge": ("delta merge one day into a year ({}) vs one-day parquet write", 0.5,
              ("MERGE by (day, id) of one day's rows, half updates half new keys, into a copy of a year table "
               f"(the write case's rows, unpartitioned, {YEAR_FILES} files of consecutive days) vs writing those "
               "rows as parquet")),
    "replaceWhere": ("delta replaceWhere one date into a year ({}) vs one-date parquet write", None,
                     ("overwrite replace_where of one date in a year table (the write case's rows as predictions, "
                      "partitioned by flight_date) vs writing that date's rows as parquet into its date folder")),
}


def frame(spark: SparkSession, rows: int) -> DataFrame:
    """``rows`` rows of long/double/string/date/timestamp/bool, partition column with 8 values."""
    base = dt.datetime(BASE.year, BASE.month, BASE.day)
    return spark.range(rows).select(
        F.col("id"),
        (F.col("id") * 0.37).alias("amount"),
        F.concat(F.lit("customer-"), (F.col("id") % 100_000).cast("string")).alias("customer"),
        F.date_add(F.lit(BASE), (F.col("id") % 365).cast("int")).alias("day"),
        (F.lit(base) + F.make_interval(secs=(F.col("id") % 86_400).cast("int"))).alias("ts"),
        (F.col("id") % 3 == 0).alias("flag"),
        F.concat(F.lit("region-"), (F.col("id") % 8).cast("string")).alias("region"),
    )


def predictions(df: DataFrame) -> DataFrame:
    """``df`` in the predictions table's shape: flight keys, prediction, probability and model lineage."""
    probability = (F.col("id") % 1000) / 1000
    return df.select(
        F.col("day").alias("flight_date"), F.col("region").alias("carrier"),
        (F.col("id") % 10_000).cast("int").alias("flight"), F.col("customer").alias("origin"),
        F.col("ts").alias("sched_dep_ts"), (probability > 0.5).cast("double").alias("prediction"),
        probability.alias("probability"), F.lit("flights_delay").alias("model_name"),
        F.lit("3").alias("model_version"), F.lit(7).cast("long").alias("features_version"),
        F.lit("bench").alias("scoring_run_id"), F.col("ts").alias("scored_at"),
    )


def one_day(df: DataFrame, rows: int) -> DataFrame:
    """The rows of DAY: the even ids updated (amount + 1), the odd ones as new keys (ids past the table's)."""
    of_day = df.where(F.col("day") == F.lit(DAY))
    updates = of_day.where(F.col("id") % 2 == 0).withColumn("amount", F.col("amount") + 1)
    inserts = of_day.where(F.col("id") % 2 == 1).withColumn("id", F.col("id") + rows)
    return updates.unionByName(inserts)


def lakehouse(spark: SparkSession, root: Path, engine: str) -> Lakehouse:
    """A Lakehouse on ``engine`` over the TABLES under ``root`` (a folder per round: each write is fresh)."""
    settings = Settings.model_validate({
        "env": "bench", "home": str(root), "storage": {"root": str(root), "landing": str(root)},
        "mlflow": {"tracking_uri": f"sqlite:///{root}/m.db", "artifact_location": str(root / "mlruns")},
    })
    pipeline = PipelineConfig.model_validate({"name": "bench", "schedule": {"start_date": BASE}, "tables": TABLES})
    return Lakehouse(spark, Catalog(settings, pipeline), select_engine(spark, engine))


def _cached(df: DataFrame) -> DataFrame:
    """``df`` cached and computed, so no side's timing includes generating it."""
    df = df.cache()
    df.count()
    return df


def _write(spark: SparkSession, df: DataFrame, root: Path,
           repeats: int) -> tuple[Timed, dict[str, Callable[[], DataFrame]]]:
    """Each round writes ``df`` into a fresh table (or folder) per side; also returns a reader of each side's
    last table, for the read case."""
    readers: dict[str, Callable[[], DataFrame]] = {}

    def parquet(i: int) -> float:
        path = str(root / f"parquet-{i}")
        readers["parquet"] = lambda: spark.read.parquet(path)
        return seconds_of(lambda: df.write.partitionBy("region").parquet(path))

    def engine(name: str) -> Callable[[int], float]:
        def side(i: int) -> float:
            lake = lakehouse(spark, root / f"{name}-{i}", name)
            readers[name] = lambda: lake.read("events")
            return seconds_of(lambda: lake.append("events", df))
        return side

    return rounds({"parquet": parquet, **{e: engine(e) for e in ENGINES}}, repeats), readers


def _read(readers: dict[str, Callable[[], DataFrame]], repeats: int) -> Timed:
    """A full scan of each side's table, every column aggregated."""
    agg = [F.count("*"), F.sum("amount"), F.max("customer"), F.max("day"), F.max("ts"),
           F.sum(F.col("flag").cast("int"))]

    def side(read: Callable[[], DataFrame]) -> Callable[[int], float]:
        return lambda _: seconds_of(lambda: read().agg(*agg).collect())

    return rounds({name: side(read) for name, read in readers.items()}, repeats)


def _merge(spark: SparkSession, df: DataFrame, rows: int, root: Path, repeats: int) -> tuple[Timed, int]:
    """One day MERGEd into a copy of the year table per round and engine. Baselines: writing the day's rows
    as parquet, and (like for like) plain Spark upserting the day into a parquet copy of the year: the file
    holding the day read, its rows with the day's keys replaced by the day's rows, the file written anew."""
    source = _cached(one_day(df, rows).coalesce(1))  # a daily batch: one task
    year = df.repartitionByRange(YEAR_FILES, "day")
    for engine in ENGINES:
        lakehouse(spark, root / f"year-{engine}", engine).append("year", year)
    year.write.parquet(str(root / "year-parquet"))
    holding = [r[0] for r in spark.read.parquet(str(root / "year-parquet")).where(F.col("day") == F.lit(DAY))
               .select(F.input_file_name()).distinct().collect()]

    def engine_side(name: str) -> Callable[[int], float]:
        def side(i: int) -> float:
            copy = root / f"merge-{name}-{i}"
            shutil.copytree(root / f"year-{name}", copy)
            lake = lakehouse(spark, copy, name)
            return seconds_of(lambda: lake.merge("year", source, ["day", "id"]))
        return side

    def parquet(_: int) -> float:
        return seconds_of(lambda: source.write.mode("overwrite").parquet(str(root / "one-day")))

    def rewrite(i: int) -> float:
        def upsert() -> None:
            kept = spark.read.parquet(*holding).join(source.select("day", "id"), ["day", "id"], "left_anti")
            kept.unionByName(source).coalesce(1).write.parquet(str(root / f"rewrite-{i}"))
        return seconds_of(upsert)

    timed = rounds({"parquet": parquet, "rewrite": rewrite, **{e: engine_side(e) for e in ENGINES}}, repeats)
    source_rows = source.count()
    source.unpersist()
    return timed, source_rows


def _replace_where(spark: SparkSession, df: DataFrame, root: Path, repeats: int) -> tuple[Timed, int]:
    """One date's rows replacing that date of the year's predictions per round and engine (the table keeps its
    size round to round); the baseline writes them into the date's parquet folder."""
    year = predictions(df)
    scored = _cached(year.where(F.col("flight_date") == F.lit(DAY)).coalesce(1))  # one scored date: one task
    lakes = {e: lakehouse(spark, root / e, e) for e in ENGINES}
    for lake in lakes.values():
        lake.overwrite("predictions", lake.clustered("predictions", year))
    where = f"flight_date = '{DAY.isoformat()}'"
    folder = str(root / "parquet" / f"flight_date={DAY.isoformat()}")

    def engine(lake: Lakehouse) -> Callable[[int], float]:
        return lambda _: seconds_of(lambda: lake.overwrite("predictions", scored, replace_where=where))

    def parquet(_: int) -> float:
        return seconds_of(lambda: scored.drop("flight_date").write.mode("overwrite").parquet(folder))

    timed = rounds({"parquet": parquet, **{e: engine(lake) for e, lake in lakes.items()}}, repeats)
    date_rows = scored.count()
    scored.unpersist()
    return timed, date_rows


def measure(spark: SparkSession, data: DataFrame, root: Path, repeats: int) -> dict[str, tuple[Timed, int]]:
    """Every case on ``data``: its rounds' seconds per side and the rows it handles."""
    df = _cached(data)
    rows = df.count()
    try:
        written, readers = _write(spark, df, root / "write", repeats)
        return {"write": (written, rows), "read": (_read(readers, repeats), rows),
                "merge": _merge(spark, df, rows, root / "merge", repeats),
                "replaceWhere": _replace_where(spark, df, root / "replace_where", repeats)}
    finally:
        df.unpersist()


def records(case: str, timed: Timed, rows: int) -> list[dict]:
    """Each engine vs parquet (and, for the MERGE, vs the plain Spark upsert), and native vs delta-rs."""
    name, target, note = CASES[case]
    like_for_like = [
        Paired(timed["rewrite"], timed[e]).record(
            f"delta merge one day into a year ({e}) vs plain Spark upsert of the file holding the day", rows,
            "like for like: the MERGE vs plain Spark reading the parquet file that holds the day, replacing the "
            "day's keys with the day's rows and writing the file anew (no transaction, no log)")
        for e in ENGINES] if "rewrite" in timed else []
    return [
        *(Paired(timed["parquet"], timed[e]).record(name.format(e), rows, note, target) for e in ENGINES),
        *like_for_like,
        Paired(timed["delta-rs"], timed["native"]).record(
            f"delta {case}: native vs delta-rs", rows,
            f"ratio = delta-rs seconds / native seconds (> 1: native is faster); {note}"),
    ]


def run(spark: SparkSession, rows: int = ROWS, workdir: Path | None = None) -> list[dict]:
    """Every case, first untimed on WARM_ROWS rows, then in REPEATS interleaved rounds on ``rows`` rows."""
    root = Path(workdir or tempfile.mkdtemp(prefix="bench-delta-"))
    try:
        measure(spark, frame(spark, WARM_ROWS), root / "warm", repeats=1)
        measured = measure(spark, frame(spark, rows), root / "bench", REPEATS)
    finally:
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    return [record for case, (timed, n) in measured.items() for record in records(case, timed, n)]


if __name__ == "__main__":
    session = get_spark(SparkSettings(master="local[2]", app_name="bench-delta", shuffle_partitions=4,
                                      driver_memory="3g"))
    for record in run(session, int(sys.argv[1]) if len(sys.argv) > 1 else ROWS):
        print(json.dumps(record))
