"""The monitoring report's HTML: a summary, the charts in grids, the segments, the table of the run's measures.

One page with its style inline and its images as ``data:`` URIs (`Chart.uri`): nothing external to load. Elements
carry ids and ``data-name`` attributes (the column or metric) so a test can read the page back.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from modelscale.config.monitoring import MonitoringConfig
from modelscale.monitoring.measures import LABELLED_ROWS
from modelscale.monitoring.results import FEATURE_DRIFT, PERFORMANCE, PREDICTION_DRIFT, SLICE, Measure

CSS = """
body{margin:0;background:#f1f5f9;color:#0f172a;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1320px;margin:0 auto;padding:24px 28px 40px}
h1{font-size:24px;margin:0}h2{font-size:18px;margin:32px 0 4px}
.sub,.note,footer{color:#475569}.note{margin:0 0 12px;font-size:13px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));gap:12px;margin-top:16px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px}
.card .label{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#64748b}
.card .big{font-size:20px;font-weight:600;margin:2px 0}
.bad{color:#b91c1c}.good{color:#15803d}
.alert,.ok{margin-top:12px;border-radius:8px;padding:10px 16px}
.alert{background:#fef2f2;border:1px solid #fecaca}.ok{background:#f0fdf4;border:1px solid #bbf7d0}
.alert ul{margin:4px 0;padding-left:20px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));gap:10px}
.flow{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start}
figure{margin:0;background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:6px}
figure.breached{border:2px solid #dc2626}figure img{max-width:100%;height:auto;display:block}
.grid figure img{width:100%}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{padding:5px 10px;border-bottom:1px solid #e2e8f0;text-align:left}
th{background:#e2e8f0}.num{text-align:right;font-variant-numeric:tabular-nums}
tr.breached td{background:#fee2e2}.tag{font-weight:600;font-size:12px}.muted{color:#64748b}
#segment-table{margin-top:10px}
footer{margin-top:28px;font-size:12px}
"""
KINDS = {FEATURE_DRIFT: "feature drift", PREDICTION_DRIFT: "prediction drift", PERFORMANCE: "performance",
         SLICE: "segment"}


@dataclass(frozen=True)
class Chart:
    """One image of the page: what it is about (a column or metric), its PNG ``data:`` URI, its alt text, whether
    it shows a breach and its natural width in CSS pixels."""

    name: str
    uri: str
    alt: str
    breached: bool
    width: int


def render(pipeline: str, champion: str, latest: list[Measure], drift: list[Chart], distributions: list[Chart],
           performance: list[Chart], slices: list[Chart], monitoring: MonitoringConfig) -> str:
    """The whole page for the measures ``latest`` of one run date (at least one), the charts built for them and the
    monitoring config they were measured with (which columns are compared over a window, which are excluded)."""
    first = latest[0]
    day = first.run_date
    return "".join([
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_e(pipeline)} monitoring {day}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>{_e(pipeline)}: model monitoring</h1>",
        _summary(champion, latest), _breaches(latest),
        _section("Drift per feature", _drift_note(monitoring), "drift", "grid", drift), _excluded(monitoring),
        _section("Breached features: training reference vs this batch", "Share of rows per bin on the last run date "
                 f"({day}); bins empty in both are left out.", "distributions", "flow", distributions,
                 empty=f"No feature breached its threshold on {day}."),
        _section("Performance on outcomes known so far", "Training's metrics per date once its labels landed, "
                 "each on its own axes; dashed red line: a floor.", "performance", "grid", performance,
                 empty="No labelled outcome yet."),
        _segments(latest, slices),
        f"<h2>All measures of {day}</h2>", _table([m for m in latest if m.kind != SLICE], monitoring),
        f"<footer>Written by the monitor job (run {_e(first.job_run_id)}) at {first.computed_at:%Y-%m-%d %H:%M} UTC.",
        "</footer></main></body></html>",
    ])


def _summary(champion: str, latest: list[Measure]) -> str:
    drift = [m for m in latest if m.kind in (FEATURE_DRIFT, PREDICTION_DRIFT)]
    breached = [m for m in latest if m.alerts]
    checked = sum(m.threshold is not None for m in latest if m.kind != SLICE)
    labelled = next((m for m in latest if m.metric == LABELLED_ROWS), None)
    scored = next((f"{m.model_name} v{m.model_version}" for m in drift if m.model_name), "n/a")
    cards = [
        ("Champion", _e(champion), f"this batch scored by {_e(scored)}", ""),
        ("Last run date", str(latest[0].run_date), f"computed {latest[0].computed_at:%Y-%m-%d %H:%M} UTC", ""),
        ("Breaches", f"<span id='breach-count'>{len(breached)}</span>", f"of {checked} thresholds checked",
         "bad" if breached else "good"),
        ("Monitored", f"{sum(m.kind == FEATURE_DRIFT for m in drift)} features"
         + (" + prediction" if any(m.kind == PREDICTION_DRIFT for m in drift) else ""),
         f"performance on {labelled.evaluated_date}: {labelled.rows:,} labelled rows" if labelled else "", ""),
    ]
    segments = [m for m in latest if m.kind == SLICE]
    if segments:
        flagged = sum(m.flagged for m in segments)
        held = sum(m.threshold is not None for m in segments)
        cards.append(("Segments flagged", f"<span id='flagged-count'>{flagged}</span>",
                      f"of {held} segments checked ({len(segments)} reported)", "bad" if flagged else "good"))
    return "<section class='cards' id='summary'>" + "".join(
        f"<div class='card'><div class='label'>{label}</div><div class='big {cls}'>{big}</div>"
        f"<div class='sub'>{sub}</div></div>" for label, big, sub, cls in cards) + "</section>"


def _breaches(latest: list[Measure]) -> str:
    breached = [m for m in latest if m.alerts]
    if not breached:
        return "<section class='ok' id='breaches'>No threshold breached.</section>"
    items = "".join(f"<li data-name='{_e(m.name)}'><b>{_e(m.name)}</b> ({KINDS.get(m.kind, m.kind)}): "
                    f"{_e(_comparison(m))}</li>" for m in breached)
    return f"<section class='alert' id='breaches'><b>{len(breached)} breach(es):</b><ul>{items}</ul></section>"


def _section(title: str, note: str, section_id: str, layout: str, charts: list[Chart], empty: str = "") -> str:
    figures = "".join(f"<figure class='{'breached' if c.breached else ''}' data-name='{_e(c.name)}'>"
                      f"<img alt='{_e(c.alt)}' width='{c.width}' src='{c.uri}'></figure>" for c in charts)
    body = f"<div class='{layout}'>{figures}</div>" if charts else f"<p class='note'>{_e(empty)}</p>"
    return f"<section id='{section_id}'><h2>{_e(title)}</h2><p class='note'>{_e(note)}</p>{body}</section>"


def _drift_note(monitoring: MonitoringConfig) -> str:
    windowed = (f", and for {', '.join(monitoring.windowed)} of the last {monitoring.window_run_dates} run dates' rows "
                "(one run date of each is narrow by nature)" if monitoring.windowed else "")
    return (f"PSI against the training reference per run date: of the run date's rows{windowed}. Each chart has its "
            "own linear y axis from 0; dashed red line: the column's threshold; red points and frames: breaches.")


def _excluded(monitoring: MonitoringConfig) -> str:
    """The columns ``monitoring.exclude`` leaves out, each with its reason."""
    if not monitoring.exclude:
        return ""
    items = "".join(f"<li data-name='{_e(name)}'><b>{_e(name)}</b>: {_e(reason)}</li>"
                    for name, reason in monitoring.exclude.items())
    return (f"<section id='excluded'><p class='note'>Not monitored (monitoring.exclude), with the reason:</p>"
            f"<ul class='note'>{items}</ul></section>")


def _segments(latest: list[Measure], charts: list[Chart]) -> str:
    """The slice columns' segments: the flagged ones, the chart, one row per segment."""
    segments = [m for m in latest if m.kind == SLICE]
    if not segments:
        return ""
    first = segments[0]
    overall = _overall(latest, first.metric)
    flagged = [m for m in segments if m.flagged]
    listed = ("<ul>" + "".join(f"<li data-name='{_e(m.name)}'><b>{_e(m.name)}</b>: {_e(_comparison(m))}, "
                               f"{m.rows:,} rows</li>" for m in flagged) + "</ul>") if flagged else ""
    status = (f"<div class='alert' id='flagged'><b>{len(flagged)} segment(s) flagged:</b>{listed}</div>" if flagged
              else "<div class='ok' id='flagged'>No segment is worse than the overall metric by more than the gap."
                   "</div>")
    head = "".join(f"<th class='{cls}'>{h}</th>" for h, cls in (
        ("column", ""), ("segment", ""), ("rows", "num"), (first.metric, "num"), ("overall", "num"),
        ("flagged beyond", "num"), ("status", "")))
    rows = []
    for m in segments:
        state, tone = ("FLAGGED", "bad") if m.flagged else ("ok", "good") if m.threshold is not None else \
            ("too few rows", "muted")
        cells = [f"<td>{_e(m.feature)}</td>", f"<td>{_e('null' if m.segment is None else m.segment)}</td>",
                 f"<td class='num'>{m.rows:,}</td>", f"<td class='num'>{_value(m)}</td>",
                 f"<td class='num'>{'n/a' if overall is None else f'{overall:.4f}'}</td>",
                 f"<td class='num'>{'none' if m.threshold is None else f'{m.threshold:.4f}'}</td>",
                 f"<td class='tag {tone}'>{state}</td>"]
        rows.append(f"<tr class='{'breached' if m.flagged else ''}' data-name='{_e(m.name)}'>{''.join(cells)}</tr>")
    figures = "".join(f"<figure data-name='{_e(c.name)}'><img alt='{_e(c.alt)}' width='{c.width}' src='{c.uri}'>"
                      "</figure>" for c in charts)
    note = (f"{first.metric} per segment of the outcomes of {first.evaluated_date}, largest segments first. A segment "
            "with enough rows is flagged when its metric is worse than the overall one by more than the configured "
            "gap; flags are reported, never an alert or a retraining.")
    return (f"<section id='segments'><h2>Segments</h2><p class='note'>{_e(note)}</p>{status}"
            f"<div class='flow'>{figures}</div><table id='segment-table'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>")


def _overall(latest: list[Measure], metric: str) -> float | None:
    """``metric`` on all labelled rows (the performance row)."""
    return next((m.value for m in latest if m.kind == PERFORMANCE and m.metric == metric), None)


def _table(latest: list[Measure], monitoring: MonitoringConfig) -> str:
    head = "".join(f"<th class='{cls}'>{h}</th>" for h, cls in (
        ("kind", ""), ("column / metric", ""), ("value", "num"), ("threshold", "num"), ("rows", "num"),
        ("evaluated date", ""), ("status", "")))
    rows = []
    for m in sorted(latest, key=lambda m: not m.breached):  # breaches first, then the job's order
        over = monitoring.window(m.name) if m.kind in (FEATURE_DRIFT, PREDICTION_DRIFT) else 1
        span = f" <span class='sub'>(last {over} run dates)</span>" if over > 1 else ""
        cells = [f"<td>{KINDS.get(m.kind, m.kind)}</td>", f"<td>{_e(m.name)}{span}</td>",
                 f"<td class='num'>{_value(m)}</td>",
                 f"<td class='num'>{'none' if m.threshold is None else f'{m.threshold:g}'}</td>",
                 f"<td class='num'>{m.rows:,}</td>", f"<td>{m.evaluated_date}</td>",
                 f"<td class='tag {'bad' if m.breached else 'good'}'>{'BREACH' if m.breached else 'ok'}</td>"]
        rows.append(f"<tr class='{'breached' if m.breached else ''}'>{''.join(cells)}</tr>")
    return f"<table id='measures'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _value(m: Measure) -> str:
    if m.value is None:
        return "n/a"
    return f"{m.value:,.0f}" if m.metric == LABELLED_ROWS else f"{m.value:.4f}"


def _comparison(m: Measure) -> str:
    """A breach as ``PSI 0.3120 > 0.2`` or ``auc_roc 0.5855 < 0.6 (outcomes of 2013-01-16)``."""
    assert m.value is not None and m.threshold is not None  # a breach has both
    label = "PSI" if m.metric == "psi" else m.metric
    sign = "<" if m.value < m.threshold else ">"
    when = f" (outcomes of {m.evaluated_date})" if m.kind == PERFORMANCE else ""
    return f"{label} {_value(m)} {sign} {m.threshold:g}{when}"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
