"""Run every benchmark under benchmarks/ and write results/latest.json and results/latest.md.

Each ``bench_*.py`` module exposes ``run(spark) -> list[dict]``; a record has ``name``, ``rows``,
``seconds``, ``baseline_seconds`` and ``ratio`` (our throughput / baseline throughput, so higher
is better), plus optional ``target`` and ``note``. Benchmarks report; they never fail the build.

    python benchmarks/run.py [--only delta,ingest]

With ``--only``, the other benchmarks' records of the previous run are kept in latest.*. For a quick
trial at a smaller scale: MODELSCALE_BENCH_ROWS (bench_delta, default 5,000,000 rows),
MODELSCALE_BENCH_DAYS (bench_ingest, default 365; at least 18), BENCH_SCORE_DAYS (bench_score).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def machine() -> dict:
    """Cores and memory of this machine, so ratios can be read in context."""
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cores": os.cpu_count(), "memory_gib": round(mem_gib, 1), "platform": platform.platform(),
            "python": platform.python_version()}


def discover(only: set[str] | None) -> list[Path]:
    files = sorted(HERE.glob("bench_*.py"))
    return [f for f in files if not only or f.stem.removeprefix("bench_") in only]


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def to_markdown(records: list[dict], info: dict) -> str:
    lines = [f"Machine: {info['cores']} cores, {info['memory_gib']} GiB, {info['platform']}", "",
             "| benchmark | rows | seconds | baseline s | ratio | target | note |",
             "|---|---:|---:|---:|---:|---|---|"]
    for r in records:
        note = r.get("note", "")
        if "auc" in r:
            note = (f"vs {r['baseline']}; AUC {r['auc']} (peer {r['baseline_auc']}, best peer {r['best_peer_auc']}); "
                    f"{r['x_lightgbm_fit_time']}x LightGBM's fit time {note}")
        lines.append(
            f"| {r['name']} | {r.get('rows', '')} | {r.get('seconds', '')} | {r.get('baseline_seconds', '')} "
            f"| {r.get('ratio', '')} | {r.get('target', '')} | {note} |"
        )
    return "\n".join(lines) + "\n"


def _kept_from_last_run(rerun: set[str]) -> list[dict]:
    """The previous results of the benchmarks not run this time (``--only``), so latest.* covers them all."""
    path = RESULTS / "latest.json"
    previous = json.loads(path.read_text()) if path.exists() else []
    return [r for r in previous if r.get("bench", r.get("name")) not in rerun and "bench" in r]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated benchmark names (bench_<name>.py)")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from modelscale.config import load_config
    from modelscale.session import get_spark

    local = load_config("local").settings.spark  # the settings a local run uses, with room for 16x training data
    spark = get_spark(local.model_copy(update={"app_name": "modelscale-bench", "driver_memory": "8g"}))
    info = machine()
    records: list[dict] = []
    for path in discover(set(args.only.split(",")) if args.only else None):
        print(f"== {path.stem}", flush=True)
        start = time.perf_counter()
        try:
            for rec in load(path).run(spark):
                records.append({"bench": path.stem, **rec, **info})
                print(json.dumps(rec), flush=True)
        except Exception:
            traceback.print_exc()
            records.append({"bench": path.stem, "name": path.stem, "error": traceback.format_exc(limit=3), **info})
        print(f"   {path.stem} took {time.perf_counter() - start:.1f}s", flush=True)
    RESULTS.mkdir(exist_ok=True)
    records = _kept_from_last_run({r["bench"] for r in records}) + records
    (RESULTS / "latest.json").write_text(json.dumps(records, indent=2))
    (RESULTS / "latest.md").write_text(to_markdown([r for r in records if "error" not in r], info))
    print((RESULTS / "latest.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
