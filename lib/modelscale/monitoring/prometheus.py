"""Every job run's metrics in the Prometheus text format, for a Pushgateway or node_exporter's textfile collector.

`export` is called by the operations log (`modelscale.monitoring.operations.recorded`) when a job has run, with
the numbers of its summary. Each run fills a fresh registry, so what is delivered is that run and nothing older:
pushed (``PUT``, replacing the group ``job/<job>/pipeline/<pipeline>/env/<env>``) to ``metrics.pushgateway_url``
when it is set, else written atomically (a temporary file renamed) to ``<textfile_dir>/<pipeline>_<job>.prom``. A
run skipped as not due exports nothing: the last run's numbers stand. Delivery that fails is a warning naming the
target, never the job's failure.

Every metric is a gauge labelled ``pipeline``, ``job`` and ``env``, plus:

- every run: ``modelscale_job_duration_seconds``, ``modelscale_job_success`` (1 when the job reported success; a
  monitoring breach is 0) and ``modelscale_job_last_run_timestamp_seconds``;
- ``table``: ``modelscale_rows_read`` (ingest: the landing records of the source of that bronze table; validate:
  the rows validated), ``modelscale_rows_written`` (ingest: bronze rows accepted; features, score, monitor: rows
  written) and ``modelscale_rows_quarantined`` (ingest: bad records; validate: rows breaking an ``error`` rule);
- ``table``, ``severity`` (error, warn): ``modelscale_validation_failures``, expectations failed (validate, features);
- ``feature``: ``modelscale_drift_psi`` and ``modelscale_drift_psi_threshold`` (the excluded ones have neither);
  ``modelscale_monitoring_breaches``, ``modelscale_monitoring_labelled_rows``;
- ``metric``: ``modelscale_model_performance`` (monitor: the labelled predictions' metrics) and
  ``modelscale_training_metric`` (train: the test split's); ``split``: ``modelscale_training_rows``;
- ``column``, ``segment`` (monitor, with ``model.slices``): ``modelscale_slice_rows``, ``modelscale_slice_flagged`` and,
  with ``metric``, ``modelscale_slice_metric`` (the audited metric of each reported segment; ``null``: its nulls);
- ``model``, ``role`` (scoring, trained, champion): ``modelscale_model_version``; ``modelscale_model_promoted``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile
from prometheus_client.exposition import basic_auth_handler, default_handler

from modelscale.context import JobContext
from modelscale.logs import get_logger
from modelscale.monitoring.measures import LABELLED_ROWS
from modelscale.secrets import redact_text

log = get_logger("prometheus")
PREFIX = "modelscale_"
PUSH_TIMEOUT_SECONDS = 10.0
HELP = {
    "job_duration_seconds": "Wall time of the job run.",
    "job_success": "1 when the job run reported success, 0 when it failed, raised or breached a monitoring threshold.",
    "job_last_run_timestamp_seconds": "When the job run ended (Unix time).",
    "rows_read": "Rows the job read: landing records (ingest) or rows validated (validate).",
    "rows_written": "Rows the job wrote to the table.",
    "rows_quarantined": "Rows the job sent to the table's quarantine.",
    "validation_failures": "Expectations of the table's suite that failed, by severity.",
    "drift_psi": "Population stability index of the feature on the last run date against the model's reference.",
    "drift_psi_threshold": "PSI above which the feature's drift is a breach.",
    "monitoring_breaches": "Monitoring thresholds breached on the run dates.",
    "monitoring_labelled_rows": "Predictions whose outcome is known, that the performance metrics cover.",
    "model_performance": "Metric of the model's predictions whose outcome is known (monitor).",
    "slice_metric": "The audited metric on one segment (a value of a slice column) of the labelled predictions.",
    "slice_rows": "Labelled predictions in the segment.",
    "slice_flagged": "1 when the segment's metric is worse than the overall one by more than the configured gap.",
    "training_metric": "Metric of the trained model on the test split.",
    "training_rows": "Rows of each split of the training window.",
    "model_version": "Registered model version: the one scoring, the one trained, the champion.",
    "model_promoted": "1 when the trained model became champion.",
}


@dataclass(frozen=True)
class Sample:
    """One value of a metric (``name`` without the prefix) with its labels beyond pipeline, job and env."""

    name: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


def export(job: str, ctx: JobContext, seconds: float, ok: bool, summary: dict[str, Any]) -> None:
    """Deliver the metrics of one run of ``job``: to the Pushgateway when one is configured, else to its
    textfile. Never raises for a delivery that fails (a warning names the target)."""
    labels = {"pipeline": ctx.pipeline.name, "job": job, "env": ctx.settings.env}
    registry = job_registry(labels, samples(job, ctx, seconds, ok, summary))
    url, path = ctx.settings.metrics.pushgateway_url, textfile(ctx, job)
    try:
        if url:
            push(url, registry, labels)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_to_textfile(str(path), registry)
    except (OSError, ValueError) as exc:
        target = f"the Pushgateway {redact_text(url)}" if url else str(path)
        log.warning("could not export the metrics of %s to %s: %s", job, target, redact_text(str(exc)))


def textfile(ctx: JobContext, job: str) -> Path:
    """Where the metrics of ``job`` go without a Pushgateway: ``<textfile_dir>/<pipeline>_<job>.prom``, by default
    under ``<home>/metrics``."""
    folder = ctx.settings.metrics.textfile_dir or ctx.settings.home / "metrics"
    return folder / f"{ctx.pipeline.name}_{job}.prom"


def push(url: str, registry: CollectorRegistry, labels: dict[str, str]) -> None:
    """Replace the group of ``labels`` on the Pushgateway at ``url`` with ``registry``; a ``user:password@`` in
    ``url`` goes as basic auth (urllib takes no credentials in a URL)."""
    parts = urlsplit(url)
    handler: Callable[..., Callable[[], None]] = default_handler
    if parts.username is not None:
        user, password = unquote(parts.username), unquote(parts.password or "")

        def handler(url: str, method: str, timeout: float | None, headers: list[tuple[str, str]],
                    data: bytes) -> Callable[[], None]:
            return basic_auth_handler(url, method, timeout, headers, data, user, password)

        url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    push_to_gateway(url.rstrip("/"), job=labels["job"], registry=registry, timeout=PUSH_TIMEOUT_SECONDS,
                    handler=handler, grouping_key={k: v for k, v in labels.items() if k != "job"})


def job_registry(labels: dict[str, str], values: list[Sample]) -> CollectorRegistry:
    """A fresh registry holding one gauge per metric name of ``values``, each sample labelled ``labels`` too."""
    registry = CollectorRegistry()
    gauges: dict[str, Gauge] = {}
    for s in values:
        if s.name not in gauges:
            gauges[s.name] = Gauge(PREFIX + s.name, HELP[s.name], [*labels, *s.labels], registry=registry)
        gauges[s.name].labels(**labels, **s.labels).set(s.value)
    return registry


def samples(job: str, ctx: JobContext, seconds: float, ok: bool, summary: dict[str, Any]) -> list[Sample]:
    """The run's own metrics and those its job's summary holds (`SUMMARY_SAMPLES`)."""
    run = [Sample("job_duration_seconds", seconds), Sample("job_success", float(ok)),
           Sample("job_last_run_timestamp_seconds", time.time())]
    from_summary = SUMMARY_SAMPLES.get(job)
    return run + (list(from_summary(ctx, summary)) if from_summary and summary else [])


def _ingest(ctx: JobContext, summary: dict[str, Any]) -> Iterator[Sample]:
    for source, counts in summary.get("sources", {}).items():
        table = {"table": ctx.pipeline.sources[source].bronze_table}
        yield Sample("rows_read", counts["rows_read"], table)
        yield Sample("rows_written", counts["rows_accepted"], table)
        yield Sample("rows_quarantined", counts["rows_quarantined"], table)


def _validation(tallies: dict[str, dict[str, Any]]) -> Iterator[Sample]:
    """Rows validated and quarantined, and failed expectations by severity, per table (`quality.job.TableTally`)."""
    for table, tally in tallies.items():
        yield Sample("rows_read", tally["rows"], {"table": table})
        yield Sample("rows_quarantined", tally["quarantined"], {"table": table})
        for severity in ("error", "warn"):
            yield Sample("validation_failures", tally[f"failed_{severity}"], {"table": table, "severity": severity})


def _validate(ctx: JobContext, summary: dict[str, Any]) -> Iterator[Sample]:
    return _validation(summary)


def _features(ctx: JobContext, summary: dict[str, Any]) -> Iterator[Sample]:
    yield Sample("rows_written", summary["rows"], {"table": summary["table"]})
    yield from _validation(summary.get("validation", {}))


def _train(ctx: JobContext, summary: dict[str, Any]) -> Iterator[Sample]:
    for metric, value in summary.get("metrics", {}).items():
        yield Sample("training_metric", value, {"metric": metric})
    for split, rows in summary.get("rows", {}).items():
        yield Sample("training_rows", rows, {"split": split})
    if "registered_model" in summary:  # not when reproducing a run: nothing is registered
        model = summary["registered_model"]
        yield from _version(model, "trained", summary["version"])
        yield from _version(model, "champion", summary["champion_version"])
        yield Sample("model_promoted", float(summary["promoted"]))


def _score(ctx: JobContext, summary: dict[str, Any]) -> Iterator[Sample]:
    yield Sample("rows_written", summary["rows"], {"table": summary["table"]})
    yield from _version(summary["model"]["name"], "scoring", summary["model"]["version"])


def _monitor(ctx: JobContext, summary: dict[str, Any]) -> Iterator[Sample]:
    monitoring = ctx.pipeline.monitoring
    yield Sample("rows_written", summary["rows_written"], {"table": summary["table"]})
    yield Sample("monitoring_breaches", len(summary.get("breaches", [])))
    for feature, value in summary.get("psi", {}).items():
        if value is not None:
            yield Sample("drift_psi", value, {"feature": feature})
        yield Sample("drift_psi_threshold", monitoring.threshold(feature), {"feature": feature})
    for metric, value in summary.get("performance", {}).items():
        if metric == LABELLED_ROWS:
            yield Sample("monitoring_labelled_rows", value)
        else:
            yield Sample("model_performance", value, {"metric": metric})
    for segment in summary.get("slices", []):
        labels = {"column": segment["column"], "segment": "null" if segment["segment"] is None else segment["segment"]}
        yield Sample("slice_rows", segment["rows"], labels)
        yield Sample("slice_flagged", float(segment["flagged"]), labels)
        if segment["value"] is not None:
            yield Sample("slice_metric", segment["value"], {**labels, "metric": segment["metric"]})


def _version(model: str, role: str, version: str | None) -> Iterator[Sample]:
    """The version as a number (registries number versions; none while a model has no champion)."""
    if version is not None and str(version).isdigit():
        yield Sample("model_version", float(version), {"model": model, "role": role})


SUMMARY_SAMPLES: dict[str, Callable[[JobContext, dict[str, Any]], Iterator[Sample]]] = {
    "ingest": _ingest, "validate": _validate, "features": _features, "train": _train, "score": _score,
    "monitor": _monitor,
}
