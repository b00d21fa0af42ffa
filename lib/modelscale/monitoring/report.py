"""The monitoring report: ``index.html`` with drift per feature over time and performance per day (PNGs).

Built from the ``monitoring`` table (at most `MAX_ROWS` of the latest `HISTORY_DAYS` run dates reach
the driver) and written to ``<report dir>/index.html``, ``drift.png`` and ``performance.png``.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from modelscale.delta import Lakehouse  # noqa: E402
from modelscale.monitoring.results import FEATURE_DRIFT, PERFORMANCE, PREDICTION_DRIFT, Measure  # noqa: E402

HISTORY_DAYS = 180
MAX_ROWS = 20_000


def history(lakehouse: Lakehouse, table: str, until: dt.date) -> pd.DataFrame:
    """Monitoring rows of the run dates up to ``until`` (the latest `HISTORY_DAYS`)."""
    since = until - dt.timedelta(days=HISTORY_DAYS)
    return (lakehouse.read(table).where(F.col("run_date").between(F.lit(since), F.lit(until)))
            .select("run_date", "kind", "feature", "metric", "value", "threshold", "breached", "evaluated_date")
            .orderBy("evaluated_date", "kind", "feature", "metric").limit(MAX_ROWS).toPandas())


def write_report(out_dir: Path, pipeline: str, rows: pd.DataFrame, latest: list[Measure]) -> Path:
    """Write the PNGs and ``index.html`` under ``out_dir``; returns the HTML page."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _drift_png(rows, out_dir / "drift.png")
    _performance_png(rows, out_dir / "performance.png")
    page = out_dir / "index.html"
    breached = [m for m in latest if m.breached]
    lines = "".join(_row(m) for m in latest)
    status = (f"<p><b>{len(breached)} breach(es):</b> " + html.escape("; ".join(m.describe() for m in breached))
              + "</p>") if breached else "<p>No breach.</p>"
    run_date = latest[0].run_date if latest else ""
    tmp = page.with_suffix(".tmp")
    tmp.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(pipeline)} monitoring</title></head>"
        f"<body><h1>{html.escape(pipeline)}: monitoring, run date {run_date}</h1>{status}"
        "<h2>Drift per feature (PSI) over time</h2><img src='drift.png'>"
        "<h2>Performance per day (labels known)</h2><img src='performance.png'>"
        "<h2>This run</h2><table border='1' cellpadding='3'><tr><th>date</th><th>kind</th><th>feature</th>"
        f"<th>metric</th><th>value</th><th>threshold</th><th>status</th></tr>{lines}</table></body></html>",
        encoding="utf-8")
    tmp.replace(page)
    return page


def _row(m: Measure) -> str:
    style = " style='background:#fdd'" if m.breached else ""
    value = "" if m.value is None else f"{m.value:.4f}"
    cells = [str(m.evaluated_date), m.kind, m.feature or "", m.metric, value, str(m.threshold),
             "BREACH" if m.breached else "ok"]
    return f"<tr{style}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"


def _drift_png(rows: pd.DataFrame, path: Path) -> None:
    drift = rows[rows["kind"].isin([FEATURE_DRIFT, PREDICTION_DRIFT])]
    fig, ax = plt.subplots(figsize=(9, 5))
    for feature, g in drift.groupby("feature"):
        ax.plot(g["evaluated_date"], g["value"], marker="o", markersize=3, label=str(feature),
                linewidth=2.5 if feature == "prediction" else 1)
    thresholds = drift["threshold"].dropna()
    if not thresholds.empty:
        ax.axhline(float(thresholds.min()), linestyle="--", color="red", label="lowest threshold")
    ax.set(xlabel="run date", ylabel="PSI (symlog)", title="Drift against the training reference")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.legend(fontsize=6, ncol=2, loc="upper left")
    fig.autofmt_xdate()
    _save(fig, path)


def _performance_png(rows: pd.DataFrame, path: Path) -> None:
    perf = rows[(rows["kind"] == PERFORMANCE) & (rows["metric"] != "rows")]
    fig, ax = plt.subplots(figsize=(9, 4))
    for metric, g in perf.groupby("metric"):
        ax.plot(g["evaluated_date"], g["value"], marker="o", markersize=3, label=str(metric))
    ax.set(xlabel="flight date", ylabel="value", title="Performance on outcomes known so far")
    if not perf.empty:
        ax.legend(fontsize=7, ncol=3, loc="lower left")
    fig.autofmt_xdate()
    _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> None:
    for ax in fig.axes:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
