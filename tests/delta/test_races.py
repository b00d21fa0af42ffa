"""Writers racing on one table, in processes of their own, on both engines: every write either commits or
fails with ConcurrentWriteError, and the table holds exactly what the committed writes made, at every version.

Two writer processes (`race_worker.py`) run 20 rounds per engine; in each round both prepare their rows,
then start together. The kinds of race are the pipeline's: two ingests of different dates (silver MERGEs of
different keys), a MERGE racing an append of the same key, two scoring runs of different dates
(replaceWhere by date), a batch's replaceWhere racing a quarantine append, and two appends. The expected
table is replayed from the committed writes in commit order.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from deltahelpers import lakehouse_factory

from race_worker import TABLE

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent
DAYS = [str(dt.date(2024, 1, 1) + dt.timedelta(days=i)) for i in range(4)]
ROUNDS = 20
Row = tuple[int, str, float, str]


class Writer:
    """One racing process."""

    def __init__(self, root: Path) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen([sys.executable, str(HERE / "race_worker.py"), str(root)], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def receive(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"the writer process ended (exit {self.proc.poll()})"
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=120)


def rows(ids: list[int], day: str, amount: float, writer: str) -> list[list]:
    return [[i, day, amount, writer] for i in ids]


def race_pairs(r: int) -> tuple[dict, dict]:
    """Round ``r``'s two operations (each writer's rows carry the round and writer in ``amount``/``writer``)."""
    a, b, kind = DAYS[r % 4], DAYS[(r + 1) % 4], r % 5
    base = 1000 * (r + 1)  # keys new to this round
    if kind == 0:  # two ingests of different dates: MERGEs of different keys, each a day's new and known rows
        return ({"op": "merge", "rows": rows([DAYS.index(a), base + 1], a, r + 0.1, "A")},
                {"op": "merge", "rows": rows([DAYS.index(b), base + 2], b, r + 0.2, "B")})
    if kind == 1:  # a MERGE racing an append of the same new key
        return ({"op": "merge", "rows": rows([base + 5, DAYS.index(a)], a, r + 0.1, "A")},
                {"op": "append", "rows": rows([base + 5], a, r + 0.2, "B")})
    if kind == 2:  # two scoring runs of different dates
        return ({"op": "replace", "day": a, "rows": rows([base + 1, base + 2], a, r + 0.1, "A")},
                {"op": "replace", "day": b, "rows": rows([base + 3], b, r + 0.2, "B")})
    if kind == 3:  # a batch's replaceWhere racing a quarantine append of another day
        return ({"op": "replace", "day": a, "rows": rows([base + 1], a, r + 0.1, "A")},
                {"op": "append", "rows": rows([base + 2], b, r + 0.2, "B")})
    return ({"op": "append", "rows": rows([base + 1], a, r + 0.1, "A")},
            {"op": "append", "rows": rows([base + 2], b, r + 0.2, "B")})


def replay(ops: list[dict]) -> list[Counter]:
    """The table's rows after each op (a multiset: an append may repeat a key a MERGE inserted first)."""
    table: list[Row] = []
    states = []
    for op in ops:
        new = [tuple(r) for r in op["rows"]]
        if op["op"] == "append":
            table = table + new
        elif op["op"] == "replace":
            table = [t for t in table if t[1] != op["day"]] + new
        else:  # merge by id: matched rows take the source row, the others are inserted
            by_id = {r[0]: r for r in new}
            table = [by_id.get(t[0], t) for t in table] + [r for r in new if r[0] not in {t[0] for t in table}]
        states.append(Counter(table))
    return states


def test_twenty_races_per_engine_leave_exactly_what_committed(spark, tmp_path):
    writers = [Writer(tmp_path), Writer(tmp_path)]
    try:
        outcomes = {engine: race(writers, engine) for engine in ("native", "delta-rs")}
    finally:
        for writer in writers:
            writer.close()
    for engine, (committed, conflicts) in outcomes.items():
        lake = lakehouse_factory(spark, tmp_path / engine, engine)(t=TABLE)
        versions = sorted(committed)
        assert versions == list(range(lake.version("t") + 1)), engine  # one commit per committed write
        states = replay([committed[v] for v in versions])
        for version, expected in zip(versions, states, strict=True):  # every version reads, with exactly its rows
            got = lake.read("t", version=version).collect()
            assert Counter((r.id, str(r.day), r.amount, r.writer) for r in got) == expected, (engine, version)
        print(f"{engine}: {len(versions) - 1} of {2 * ROUNDS} racing writes committed, {conflicts} conflicts")


def race(writers: list[Writer], engine: str) -> tuple[dict[int, dict], int]:
    """A seeded table, then ROUNDS rounds of two writes started together: the committed writes by version,
    and how many failed with a conflict (every other outcome fails the test)."""
    seed = {"op": "append", "rows": [[i, day, 0.0, "seed"] for i, day in enumerate(DAYS)]}
    committed: dict[int, dict] = {}
    conflicts = 0
    for ops in [(seed,), *(race_pairs(r) for r in range(ROUNDS))]:
        for writer, op in zip(writers, ops):
            writer.send(json.dumps({"engine": engine, **op}))
        assert [w.receive() for w in writers[:len(ops)]] == [{"ready": True}] * len(ops)
        for writer in writers[:len(ops)]:
            writer.send("go")
        for op, outcome in zip(ops, [w.receive() for w in writers[:len(ops)]]):
            if "error" in outcome:
                assert outcome["kind"] == "ConcurrentWriteError", (engine, outcome)
                assert "conflicts with" in outcome["error"] and "re-run the operation" in outcome["error"]
                conflicts += 1
            else:
                assert outcome["committed"] and outcome["version"] not in committed, (engine, op, outcome)
                committed[outcome["version"]] = op
    return committed, conflicts
