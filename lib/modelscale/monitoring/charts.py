"""The monitoring report's figures: small charts, each on its own axes, as PNG ``data:`` URIs.

Every chart is a plain matplotlib `Figure` (no pyplot state): PSI of one column over time with its threshold,
one performance metric over time with its floors (counts such as ``labelled_rows`` as bars), the reference
vs current share per bin of one column, and one metric per segment of the slice columns (also training's
``figures/slices.png``). Dates are whole days, each labelled once.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import math
from collections.abc import Sequence
from itertools import pairwise

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from modelscale.monitoring.profile import Bins, ColumnProfile
from modelscale.training.slices import Segment

BLUE, GREY, RED, ORANGE = "#2563eb", "#94a3b8", "#dc2626", "#ea580c"
MAX_DATE_TICKS = 4
SMALL = (3.4, 2.2)  # inches: one cell of a grid of small multiples
DPI = 120


def data_uri(fig: Figure) -> str:
    """``fig`` as an inline PNG, so the page needs no file next to it (file:// and MLflow's artifact view alike)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def date_axis(ax: Axes, dates: Sequence[dt.date]) -> None:
    """An x axis over ``dates`` (shared by a grid's charts): ticks on at most `MAX_DATE_TICKS` of them, whole days
    each labelled once, half a day of margin."""
    days = sorted(set(dates))
    ticks = days[:: math.ceil(len(days) / MAX_DATE_TICKS)] if days else []
    fmt = "%b %-d" if days and days[0].year == days[-1].year else "%Y-%m-%d"
    ax.set_xticks([_x(d) for d in ticks], [d.strftime(fmt) for d in ticks])
    if days:
        ax.set_xlim(_x(days[0]) - 0.5, _x(days[-1]) + 0.5)


def psi_chart(column: str, points: pd.DataFrame, threshold: float | None, dates: Sequence[dt.date]) -> Figure:
    """PSI of ``column`` per run date (``evaluated_date``, ``value``, ``breached``) on a linear axis from 0,
    its threshold dashed; breaches in red, a column without threshold in grey; x axis over ``dates``."""
    fig, ax = _small(column)
    x = [_x(d) for d in points["evaluated_date"]]
    ax.plot(x, points["value"], marker="o", markersize=3.5, linewidth=1.4, color=BLUE if threshold else GREY)
    over = points["breached"].to_numpy(dtype=bool)
    ax.scatter([v for v, b in zip(x, over, strict=True) if b], points["value"][over], color=RED, s=26, zorder=3)
    top = max(points["value"].max(skipna=True) if len(points) else 0.0, threshold or 0.0)
    ax.set_ylim(0, (top if top > 0 else 0.1) * 1.2)
    _bound(ax, threshold, "threshold")
    last = points["value"].iloc[-1] if len(points) else math.nan
    note = "no threshold: recorded only" if threshold is None else f"PSI {last:.3f}"
    ax.set_title(note, loc="right", fontsize=8, color=RED if len(points) and over[-1] else "#475569")
    date_axis(ax, dates)
    return fig


def metric_chart(metric: str, points: pd.DataFrame, bounds: Sequence[float], dates: Sequence[dt.date], *,
                 count: bool) -> Figure:
    """One performance metric per evaluated date (``evaluated_date``, ``value``): bars from 0 for a count, else a
    line scaled to its values and ``bounds`` (the floors, dashed); x axis over ``dates``."""
    fig, ax = _small(metric)
    x, y = [_x(d) for d in points["evaluated_date"]], points["value"]
    if count:
        ax.bar(x, y, width=0.6, color=GREY)
        ax.set_ylim(0, max(float(y.max(skipna=True)) if len(y) else 0.0, 1.0) * 1.2)
    else:
        ax.plot(x, y, marker="o", markersize=3.5, linewidth=1.4, color=BLUE)
        values = [*y.dropna(), *bounds]
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        pad = max((hi - lo) * 0.2, 0.02)
        ax.set_ylim(max(lo - pad, 0.0), hi + pad)
    for b in bounds:
        _bound(ax, b, "floor")
    if len(y) and not math.isnan(y.iloc[-1]):
        ax.set_title(f"{y.iloc[-1]:,.0f}" if count else f"{y.iloc[-1]:.3f}", loc="right", fontsize=8, color="#475569")
    date_axis(ax, dates)
    return fig


def distribution_chart(column: str, reference: ColumnProfile, current: ColumnProfile, note: str) -> Figure:
    """Share of rows per bin of ``column``: the training reference next to the current batch (bins empty in both
    are left out); ``note`` (its PSI and threshold) follows the name in the title."""
    keep = [i for i, (r, c) in enumerate(zip(reference.counts, current.counts, strict=True)) if r or c]
    names = bin_names(reference.bins)
    labels = [names[i] for i in keep]
    fig = Figure(figsize=(max(5.0, 0.38 * len(keep) + 1.8), 3.1), layout="constrained")
    ax = fig.add_subplot()
    xs = range(len(keep))
    for offset, (profile, name, color) in zip((-0.2, 0.2), ((reference, "training reference", GREY),
                                                            (current, "this batch", ORANGE)), strict=True):
        total = profile.rows or 1
        ax.bar([x + offset for x in xs], [profile.counts[i] / total for i in keep], width=0.4, color=color,
               label=f"{name} ({profile.rows:,} rows)")
    ax.set_xticks(list(xs), labels, rotation=35 if len(keep) > 5 else 0, ha="right" if len(keep) > 5 else "center",
                  fontsize=8)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("share of rows", fontsize=9)
    fig.suptitle(f"{column}: {note}", x=0.01, ha="left", fontsize=10, fontweight="bold")
    ax.legend(fontsize=8, frameon=False, loc="lower right", bbox_to_anchor=(1, 1), ncol=2)
    ax.grid(axis="y", color="#e2e8f0")
    ax.set_axisbelow(True)
    _despine(ax)
    return fig


def slices_chart(segments: list[Segment], top: int = 20) -> Figure:
    """The audited metric of each segment (the ``top`` largest of each column, largest first) as bars labelled with
    their rows, one panel per slice column: the overall value as a line, the bound dashed; flagged segments in red,
    those too small to be checked in grey."""
    columns = list(dict.fromkeys(s.column for s in segments))
    shown = {c: [s for s in segments if s.column == c][:top] for c in columns}
    fig = Figure(figsize=(6.0, sum(0.24 * len(v) + 1.1 for v in shown.values())), layout="constrained")
    heights = [len(v) + 3 for v in shown.values()]
    for ax, (column, rows) in zip(fig.subplots(len(columns), 1, squeeze=False, height_ratios=heights)[:, 0],
                                  shown.items(), strict=True):
        ys = range(len(rows))[::-1]  # the largest segment on top
        ax.barh(list(ys), [s.value if s.value is not None else 0.0 for s in rows], height=0.7,
                color=[RED if s.flagged else BLUE if s.checked else GREY for s in rows])
        ax.set_yticks(list(ys), [f"{'null' if s.segment is None else s.segment} ({s.rows:,})" for s in rows],
                     fontsize=7.5)
        overall, bound = rows[0].overall, next((s.bound for s in rows if s.bound is not None), None)
        values = [v for v in (*(s.value for s in rows), overall, bound) if v is not None]
        for value, style, label in ((overall, {"color": "#0f172a", "linewidth": 1.2}, "overall"),
                                    (bound, {"color": RED, "linestyle": "--", "linewidth": 1}, "flagged beyond")):
            if value is not None:
                ax.axvline(value, label=f"{label} {value:.3f}", **style)
        if overall is not None:
            ax.legend(fontsize=7.5, frameon=False, loc="lower right", bbox_to_anchor=(1, 1), ncol=2)
        if values:
            lo, hi = min(values), max(values)
            pad = max((hi - lo) * 0.15, 0.02 * max(abs(hi), 1e-9))
            ax.set_xlim(max(lo - pad, 0.0) if lo >= 0 else lo - pad, hi + pad)
        ax.set_title(f"{rows[0].metric} per {column} (rows)", loc="left", fontsize=10, fontweight="bold")
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", color="#e2e8f0")
        ax.set_axisbelow(True)
        _despine(ax)
    return fig


def bin_names(bins: Bins) -> list[str]:
    """Short axis labels of ``bins``: ``≤ 41.3``, ``41.3–44.3``, ``> 59.7`` (the fewest significant digits from 4 up
    that keep the edges apart: ``1012.5–1013.1``), the categorical values as they are; ``null`` last."""
    if bins.kind == "categorical":
        return bins.labels
    digits = next(d for d in range(4, 18) if len({f"{x:.{d}g}" for x in bins.edges}) == len(bins.edges))
    edges = [f"{x:.{digits}g}" for x in bins.edges]
    if not edges:
        return ["all", "null"]
    return [f"≤ {edges[0]}", *(f"{lo}–{hi}" for lo, hi in pairwise(edges)), f"> {edges[-1]}", "null"]


def _small(title: str) -> tuple[Figure, Axes]:
    fig = Figure(figsize=SMALL, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, loc="left", fontsize=10, fontweight="bold")
    ax.tick_params(labelsize=8)
    ax.grid(axis="y", color="#e2e8f0")
    ax.set_axisbelow(True)
    _despine(ax)
    return fig, ax


def _bound(ax: Axes, value: float | None, name: str) -> None:
    """A dashed red line at ``value``, labelled on the left just above it."""
    if value is None:
        return
    ax.axhline(value, linestyle="--", linewidth=1, color=RED)
    ax.annotate(f"{name} {value:g}", (0, value), xycoords=("axes fraction", "data"), xytext=(3, 3),
                textcoords="offset points", fontsize=7.5, color=RED)


def _despine(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _x(day: dt.date) -> float:
    """A date as matplotlib's day number (days since 1970-01-01), so ticks and limits are plain numbers."""
    return float((pd.Timestamp(day) - pd.Timestamp("1970-01-01")).days)
