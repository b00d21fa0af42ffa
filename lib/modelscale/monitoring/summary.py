"""The short text printed at the end of ``modelscale run pipeline``: what was produced and where to look."""

from __future__ import annotations

from mlflow import MlflowClient

from modelscale.context import JobContext, JobResult
from modelscale.scoring.model import find


def pipeline_summary(ctx: JobContext, results: list[JobResult], notes: list[str]) -> str:
    """Tables and versions, validation outcome, champion and its metrics, monitoring, where to look."""
    lines = [f"== pipeline {ctx.pipeline.name}: {ctx.run_dates[0]}..{ctx.run_dates[-1]}, "
             f"{len(results)} job runs, {sum(not r.ok for r in results)} not ok"]
    lines += ["tables (version, rows):"] + [f"  {t:<28} v{v:<5} {n:>10,}" for t, v, n in _tables(ctx)]
    validations = [r for r in results if r.job == "validate"]
    failed = [r for r in validations if not r.ok]
    lines.append(f"validation: {len(validations)} run(s), {len(failed)} failed"
                 + (f" -- last: {failed[-1].message.splitlines()[0]}" if failed else ""))
    lines.append(f"champion: {_champion(ctx)}")
    monitors = [r for r in results if r.job == "monitor"]
    if monitors:
        breached = [b for r in monitors for b in r.summary.get("breaches", [])]
        lines.append(f"monitoring: {len(monitors)} run(s), {len(breached)} breach(es)"
                     + (f", e.g. {breached[-1]}" if breached else ""))
    lines += [f"note: {n}" for n in _compact(notes)]
    lines += ["where to look:",
              f"  mlflow ui --backend-store-uri {ctx.settings.mlflow.tracking_uri}",
              f"  Data Docs: {ctx.settings.home / 'data_docs' / 'index.html'}"]
    if monitors:
        lines.append(f"  monitoring report: {monitors[-1].summary.get('report')}")
    return "\n".join(lines)


def _tables(ctx: JobContext) -> list[tuple[str, int, int]]:
    out = []
    for name in ctx.lakehouse.catalog.names():
        if ctx.lakehouse.exists(name):
            info = ctx.lakehouse.info(name)
            out.append((name, info.version, info.num_rows or 0))
    return out


def _champion(ctx: JobContext) -> str:
    model = ctx.pipeline.model
    ref = find(model.registered_name, ctx.pipeline.scoring) if model else None
    if ref is None:
        return "none yet"
    metrics = MlflowClient().get_run(ref.run_id).data.metrics
    shown = ", ".join(f"{k.removeprefix('test_')}={v:.4f}" for k, v in sorted(metrics.items()) if k.startswith("test_"))
    return f"{ref.describe()} from training run {ref.run_id}: {shown}"


def _compact(notes: list[str], keep: int = 12) -> list[str]:
    """At most ``keep`` notes (the first and last ones)."""
    if len(notes) <= keep:
        return notes
    return [*notes[: keep // 2], f"... {len(notes) - keep} more ...", *notes[-keep // 2:]]
