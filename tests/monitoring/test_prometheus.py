"""Prometheus metrics of real job runs: the textfile collector's files, a real Pushgateway, the Grafana dashboard.

The jobs run through the operations log (`operations.recorded`), as `runner.run_job` runs them: an ingest of a tiny
``events`` source with bad records, then on the scored slice of four real January days (`scoring.conftest`) a
validation that fails, the slice's training run, scoring and monitoring. Every file is parsed with
prometheus_client's own parser and compared with the job's summary.
"""

from __future__ import annotations

import crypt
import datetime as dt
import json
import logging
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Self

import pytest
from ingest.conftest import D1, events_config, make_lakehouse, write_events
from prometheus_client.parser import text_string_to_metric_families
from scoring.conftest import DAYS, END, scored  # noqa: F401  (scored is a fixture)
from training.conftest import Slice, home_env  # noqa: F401  (home_env is a fixture)

from modelscale.config.models import MetricsSettings
from modelscale.config.validation import ValidationConfig
from modelscale.context import JobContext, JobResult
from modelscale.ingest.job import run as ingest
from modelscale.monitoring import prometheus
from modelscale.monitoring.job import run as monitor
from modelscale.monitoring.operations import recorded
from modelscale.quality.job import run as validate
from modelscale.scoring.job import run as score

REPO = Path(__file__).resolve().parents[2]
Key = tuple[str, tuple[tuple[str, str], ...]]
Runs = dict[str, tuple[JobContext, JobResult, float]]  # job: its context, its result, when it started
RUN_METRICS = {"modelscale_job_duration_seconds", "modelscale_job_success", "modelscale_job_last_run_timestamp_seconds"}
SUITE = {"flights": {"date_column": "flight_date", "expectations": [
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "origin", "value_set": ["EWR", "JFK"]}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "distance", "max_value": 1000},
     "severity": "warn"},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "carrier"}},
]}}
USER, PASSWORD = "modelscale", "push-s3cret-pw"


@pytest.fixture(scope="module")
def runs(scored: tuple[Slice, JobResult]) -> Runs:  # noqa: F811
    """Each job recorded once: its context, its result and when it started (Unix time)."""
    s, trained = scored
    home = s.config.settings.home
    write_events(home, D1, "1,a,1.0", "2,b,oops", "3,NA,3.0", "4,d,4.0")
    events = events_config()
    pipeline = s.config.pipeline
    checked = pipeline.model_copy(update={"validation": ValidationConfig.model_validate({"suites": SUITE})})
    plan = {  # job: (context, run); the train job's real result is the slice's
        "ingest": (JobContext(config=events, spark=s.spark, lakehouse=make_lakehouse(s.spark, events),
                              run_dates=[D1], run_id="prom-ingest"), ingest),
        "train": (s.ctx("prom-train"), lambda _: trained),
        "score": (on_dates(s.ctx("prom-score"), DAYS[2:]), score),
        "monitor": (on_dates(s.ctx("prom-monitor"), [END]), monitor),
        "validate": (on_dates(s.ctx("prom-validate", pipeline=checked), [END]), validate),
    }
    out = {}
    for job, (ctx, run) in plan.items():
        started = time.time()
        out[job] = (ctx, recorded(job, ctx, run), started)
    return out


def on_dates(ctx: JobContext, dates: list[dt.date]) -> JobContext:
    ctx.run_dates = dates
    return ctx


def parse(text: str) -> dict[Key, float]:
    """Every sample of an exposition as (name, sorted labels) -> value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def key(name: str, ctx: JobContext, job: str, **labels: str) -> Key:
    base = {"pipeline": ctx.pipeline.name, "job": job, "env": "local"}
    return f"modelscale_{name}", tuple(sorted((base | labels).items()))


def expected(job: str, ctx: JobContext, summary: dict) -> dict[Key, float]:
    """What the summary of each job says, written out field by field."""
    k = partial(key, ctx=ctx, job=job)
    if job == "ingest":
        c = summary["sources"]["events"]
        return {k("rows_read", table="events_bronze"): c["rows_read"],
                k("rows_written", table="events_bronze"): c["rows_accepted"],
                k("rows_quarantined", table="events_bronze"): c["rows_quarantined"]}
    if job == "validate":
        t = summary["flights"]
        return {k("rows_read", table="flights"): t["rows"], k("rows_quarantined", table="flights"): t["quarantined"],
                k("validation_failures", table="flights", severity="error"): t["failed_error"],
                k("validation_failures", table="flights", severity="warn"): t["failed_warn"]}
    if job == "train":
        return {**{k("training_metric", metric=m): v for m, v in summary["metrics"].items()},
                **{k("training_rows", split=sp): v for sp, v in summary["rows"].items()},
                k("model_version", model="flights_delay", role="trained"): float(summary["version"]),
                k("model_version", model="flights_delay", role="champion"): float(summary["champion_version"]),
                k("model_promoted"): float(summary["promoted"])}
    if job == "score":
        return {k("rows_written", table="predictions"): summary["rows"],
                k("model_version", model="flights_delay", role="scoring"): float(summary["model"]["version"])}
    monitoring = ctx.pipeline.monitoring
    perf = dict(summary["performance"])
    return {k("rows_written", table="monitoring"): summary["rows_written"],
            k("monitoring_breaches"): len(summary["breaches"]),
            k("monitoring_labelled_rows"): perf.pop("labelled_rows"),
            **{k("model_performance", metric=m): v for m, v in perf.items()},
            **{k("drift_psi", feature=f): v for f, v in summary["psi"].items()},
            **{k("drift_psi_threshold", feature=f): monitoring.threshold(f) for f in summary["psi"]},
            **{k(name, column=g["column"], segment=g["segment"] or "null", **extra): value for g in summary["slices"]
               for name, extra, value in (("slice_rows", {}, g["rows"]), ("slice_flagged", {}, float(g["flagged"])),
                                          ("slice_metric", {"metric": g["metric"]}, g["value"]))
               if value is not None}}  # a segment with one class has no AUC


def textfile(ctx: JobContext, job: str) -> Path:
    return ctx.settings.home / "metrics" / f"{ctx.pipeline.name}_{job}.prom"


@pytest.mark.slow
def test_each_job_run_writes_its_summary_to_its_textfile(runs: Runs) -> None:
    summaries = {job: result.summary for job, (_, result, _) in runs.items()}
    # the runs are what they should show: bad records, failed expectations, PSI and performance, a scoring version
    assert summaries["ingest"]["sources"]["events"]["rows_quarantined"] == 2
    assert summaries["validate"]["flights"]["failed_error"] == 1 and summaries["validate"]["flights"]["quarantined"] > 0
    assert summaries["monitor"]["psi"] and summaries["monitor"]["performance"]["labelled_rows"] > 0
    for job, (ctx, result, started) in runs.items():
        path = textfile(ctx, job)
        assert not list(path.parent.glob(f"{path.name}.*")), "a temporary file was left beside the textfile"
        got = parse(path.read_text(encoding="utf-8"))
        run = {k: v for k, v in got.items() if k[0] in RUN_METRICS}
        assert {k: v for k, v in got.items() if k[0] not in RUN_METRICS} == expected(job, ctx, result.summary), job
        assert run[key("job_success", ctx, job)] == float(result.ok), job
        assert 0 <= run[key("job_duration_seconds", ctx, job)] <= time.time() - started, job
        assert started <= run[key("job_last_run_timestamp_seconds", ctx, job)] <= time.time(), job
    assert runs["validate"][1].ok is False and runs["score"][1].ok is True


def pushgateway_binary() -> str | None:
    """``pushgateway`` or Debian's ``prometheus-pushgateway`` on PATH, or the one `make setup` unpacked."""
    local = REPO / ".tools" / "pushgateway" / "usr" / "bin" / "prometheus-pushgateway"
    found = shutil.which("pushgateway") or shutil.which("prometheus-pushgateway")
    return found or (str(local) if local.exists() else None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    """A real Pushgateway on a free 127.0.0.1 port that wants basic auth (`USER`, `PASSWORD`); its ``host:port``."""
    binary = pushgateway_binary()
    if binary is None:
        pytest.skip("no Pushgateway binary: `make setup` unpacks Debian's prometheus-pushgateway into "
                    ".tools/pushgateway (apt-get could not download it here), or put pushgateway on PATH")
    hashed = crypt.crypt(PASSWORD, "$2b$05$" + "modelscalepushgatewayx")  # bcrypt, as the web config wants
    assert hashed and hashed.startswith("$2b$"), "this libcrypt has no bcrypt"
    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users:\n  {USER}: '{hashed}'\n", encoding="utf-8")
    address = f"127.0.0.1:{free_port()}"
    log_file = (tmp_path / "pushgateway.log").open("wb")
    proc = subprocess.Popen([binary, f"--web.listen-address={address}", f"--web.config.file={web}"],
                            stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "pushgateway.log").read_text()
            try:
                socket.create_connection(address.split(":"), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the Pushgateway did not accept connections within 30 s"
                time.sleep(0.05)
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log_file.close()


def with_gateway(ctx: JobContext, url: str) -> JobContext:
    settings = ctx.settings.model_copy(update={"metrics": MetricsSettings(pushgateway_url=url)})
    return JobContext(config=ctx.config.model_copy(update={"settings": settings}), spark=ctx.spark,
                      lakehouse=ctx.lakehouse, run_dates=ctx.run_dates, run_id=ctx.run_id)


class Captured(logging.Handler):
    """The records of one logger (modelscale's loggers may not propagate to pytest's capture)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.logger = logging.getLogger(name)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> Self:
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self)


@pytest.mark.slow
def test_a_real_pushgateway_serves_what_the_jobs_pushed(runs: Runs, pushgateway: str) -> None:
    """The score and monitor runs pushed with basic auth from the URL's user:password@; the Pushgateway's own
    /metrics shows each group with the textfile's samples (it adds an empty ``instance``)."""
    for job in ("score", "monitor"):
        ctx, result, _ = runs[job]
        prometheus.export(job, with_gateway(ctx, f"http://{USER}:{PASSWORD}@{pushgateway}"), 2.5, result.ok,
                          result.summary)
    request = urllib.request.Request(f"http://{pushgateway}/metrics", headers={
        "Authorization": "Basic " + b64encode(f"{USER}:{PASSWORD}".encode()).decode()})
    with urllib.request.urlopen(request, timeout=10) as response:
        served = parse(response.read().decode())
    for job in ("score", "monitor"):
        ctx, _, _ = runs[job]
        pushed = {(name, tuple(kv for kv in labels if kv != ("instance", ""))): v
                  for (name, labels), v in served.items() if name.startswith("modelscale_") and ("job", job) in labels}
        written = parse(textfile(ctx, job).read_text(encoding="utf-8"))
        stamp, duration = key("job_last_run_timestamp_seconds", ctx, job), key("job_duration_seconds", ctx, job)
        assert pushed.keys() == written.keys(), job
        assert pushed.pop(stamp) > 0 and written.pop(stamp) > 0
        assert pushed == written | {duration: 2.5}, job

    # a wrong password: the Pushgateway refuses the push, the job's caller gets a warning naming the URL, no secret
    ctx, result, _ = runs["score"]
    with Captured("modelscale.prometheus") as log:
        prometheus.export("score", with_gateway(ctx, f"http://{USER}:wrong-s3cret-pw@{pushgateway}"), 1.0, True,
                          result.summary)
    (record,) = log.records
    assert record.levelname == "WARNING" and f"http://{USER}:***@{pushgateway}" in record.getMessage()
    assert "401" in record.getMessage() and "wrong-s3cret-pw" not in record.getMessage()


def test_a_pushgateway_that_is_down_is_a_warning_not_a_failed_job(home: Path) -> None:
    """Nothing listens on the port: the job's result stands and one warning names the URL, its password hidden."""
    from modelscale.config import load_config

    address = f"127.0.0.1:{free_port()}"
    cfg = load_config("local", "flights_delay")
    ctx = with_gateway(JobContext(config=cfg, spark=None, lakehouse=None, run_dates=[END], run_id="down"),  # type: ignore[arg-type]
                       f"http://{USER}:{PASSWORD}@{address}/")
    done = JobResult("score", summary={"table": "predictions", "rows": 3, "model": {"name": "m", "version": "2"}})
    with Captured("modelscale.prometheus") as log:
        prometheus.export("score", ctx, 0.5, True, done.summary)
    (record,) = log.records
    message = record.getMessage()
    assert record.levelname == "WARNING" and f"the Pushgateway http://{USER}:***@{address}/" in message
    assert PASSWORD not in message and "Connection refused" in message
    assert not (home / "metrics").exists()


PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers left once label matchers, strings, ranges, grouping
    clauses, functions (a name before ``(``), keywords and numbers are taken out."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", bare)
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", bare)
    bare = re.sub(r"\b[a-zA-Z_:][\w:]*\s*\(", "(", bare)
    return {w for w in re.findall(r"\b[a-zA-Z_:][\w:]*\b", bare) if w not in PROMQL_WORDS}


@pytest.mark.slow
def test_the_grafana_dashboard_reads_only_exported_metrics(runs: Runs) -> None:
    """Every panel's and variable's PromQL names metrics that the runs above exported (and no other), every exported
    metric is on some panel, and the JSON is ready for file provisioning."""
    exported = {family.name for ctx, _, _ in runs.values() for path in (ctx.settings.home / "metrics").glob("*.prom")
                for family in text_string_to_metric_families(path.read_text(encoding="utf-8"))}
    dashboard = json.loads((REPO / "grafana" / "dashboards" / "modelscale.json").read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["id"] is None
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels and all(p["datasource"] == {"type": "prometheus", "uid": "${datasource}"} for p in panels)
    used: set[str] = set()
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names and names <= exported, (panel["title"], target["expr"], names - exported)
            used |= names
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":  # label_values(<series selector>, <label>)
            selector = re.fullmatch(r"label_values\((.*),\s*\w+\)", variable["query"]["query"])
            assert selector, variable["name"]
            names = metric_names(selector.group(1))
            assert names and names <= exported, variable["name"]
    assert used == exported
