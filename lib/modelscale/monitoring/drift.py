"""Population stability index (PSI) between a reference and a current bin count.

    PSI = sum_i (a_i - e_i) * ln(a_i / e_i)

where e_i and a_i are the reference's and the current rows' shares of bin i, each floored at
``epsilon`` (an empty bin would otherwise make the log infinite). 0 means the same distribution;
0.1-0.2 is commonly read as a moderate shift and above 0.2 as a significant one.
"""

from __future__ import annotations

import math


def shares(counts: list[int], epsilon: float) -> list[float]:
    """Each bin's share of the rows, floored at ``epsilon``."""
    total = sum(counts)
    return [max(c / total, epsilon) if total else epsilon for c in counts]


def psi(reference: list[int], current: list[int], epsilon: float) -> float:
    """PSI of ``current`` against ``reference`` (the same bins, in the same order)."""
    if len(reference) != len(current):
        raise ValueError(f"PSI needs the same bins: {len(reference)} reference vs {len(current)} current")
    e, a = shares(reference, epsilon), shares(current, epsilon)
    return float(sum((ai - ei) * math.log(ai / ei) for ei, ai in zip(e, a, strict=True)))
