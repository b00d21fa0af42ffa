"""Interleaved timing of a baseline and our side, summarised by the median per-pair ratio.

On a shared 2-core machine a side's time drifts by a third between minutes; a best-of-two of each
side, taken apart, can land on either side of a target. Timing the sides in turns, ``repeats`` rounds,
gives one ratio per round in which both sides met the same machine; the median of those ratios, with
their range, is what a benchmark reports.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Paired:
    """Seconds per round of each side, and the per-round ratios baseline / ours (higher is better)."""

    baseline: list[float]
    ours: list[float]

    @property
    def ratios(self) -> list[float]:
        return [b / o for b, o in zip(self.baseline, self.ours, strict=True)]

    @property
    def ratio(self) -> float:
        return round(statistics.median(self.ratios), 3)

    @property
    def seconds(self) -> float:
        return round(statistics.median(self.ours), 2)

    @property
    def baseline_seconds(self) -> float:
        return round(statistics.median(self.baseline), 2)

    def spread(self) -> str:
        """The rounds in words, for a record's note."""
        lo, hi = min(self.ratios), max(self.ratios)
        return f"median of {len(self.ours)} interleaved rounds, ratio range {lo:.3f}..{hi:.3f}"

    def record(self, name: str, rows: int, note: str, target: float | None = None) -> dict:
        """A runner record (see run.py) of these rounds; ``target`` is the least acceptable ratio."""
        record = {"name": name, "rows": rows, "seconds": self.seconds, "baseline_seconds": self.baseline_seconds,
                  "ratio": self.ratio}
        if target is not None:
            record["target"] = f"ratio >= {target}"
        return {**record, "note": f"{note}; {self.spread()}"}


def seconds_of(action: Callable[[], object]) -> float:
    """Wall-clock seconds of one call of ``action``."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def rounds(sides: dict[str, Callable[[int], float]], repeats: int) -> dict[str, list[float]]:
    """Seconds of each side in each of ``repeats`` rounds; a round runs every side once, in order. Each
    callable gets the round's index (0-based), so it can write into that round's own folder, and times
    itself, so it can leave its set-up out."""
    out: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(repeats):
        for name, side in sides.items():
            out[name].append(side(i))
    return out
