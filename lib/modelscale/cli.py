"""The ``modelscale`` command line.

Exit codes: 0 success; 1 a job ran and reported failure (a monitoring breach is an alert answered by a
retraining, not a failure, unless ``monitoring.on_breach: fail``); 2 bad input, config or table
(one paragraph saying what and where); 3 Spark failed (error class and message; the trace
goes to the log file); 99 (``run JOB --when-due``) the job was due on none of its run dates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import textwrap
import traceback
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import yaml

from modelscale.errors import ModelscaleError
from modelscale.logs import get_logger
from modelscale.orchestration import EXIT_NOT_DUE
from modelscale.registry import JOBS
from modelscale.secrets import redact, redact_text

log = get_logger("cli")

EXIT_OK, EXIT_JOB_FAILED, EXIT_USER_ERROR, EXIT_SPARK_ERROR = 0, 1, 2, 3


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _add_common(p: argparse.ArgumentParser, pipeline_required: bool = False) -> None:
    p.add_argument("--env", default="local", help="environment overlay conf/<env>.yaml (default: local)")
    p.add_argument("--pipeline", required=pipeline_required, default=None,
                   help="pipeline conf/pipelines/<name>.yaml (default: settings.default_pipeline)")


def _add_dates(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-date", type=_date, help="the run date, YYYY-MM-DD (default: today)")
    p.add_argument("--start", type=_date, help="first date of a backfill, YYYY-MM-DD")
    p.add_argument("--end", type=_date, help="last date of a backfill (inclusive), YYYY-MM-DD")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (public so the spark-submit entry points share it)."""
    jobs = "\n".join(f"  {name:<9} {spec.summary}" for name, spec in JOBS.items())
    parser = argparse.ArgumentParser(
        prog="modelscale",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Spark batch ML jobs: landing files -> Delta tables -> model -> predictions.",
        epilog=f"jobs (modelscale run JOB):\n{jobs}\n  pipeline  every job in order",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a job or the whole pipeline")
    run.add_argument("job", choices=[*JOBS, "pipeline"], metavar="JOB",
                     help=f"one of: {', '.join(JOBS)}, pipeline")
    _add_common(run)
    _add_dates(run)
    run.add_argument("--reproduce", metavar="RUN_ID",
                     help="train: retrain from the table versions and config recorded on an MLflow run")
    run.add_argument("--allow-failed-validation", action="store_true",
                     help="use table versions whose last validation failed at error severity (logged)")
    run.add_argument("--when-due", action="store_true",
                     help="run JOB only on the run dates it is due (train: training days, no model yet or a "
                          "retraining asked for by monitoring, once there are training rows; score, monitor: "
                          "once there is a model), logging why not otherwise; exits 99 when it was due on none of "
                          "the dates; pipeline always does")

    tables = sub.add_parser("tables", help="list every table: name, location, version, rows")
    _add_common(tables)
    tables.add_argument("--json", action="store_true", help="print JSON instead of a table")

    config = sub.add_parser("config", help="configuration commands")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    show = config_sub.add_parser("show", help="print the resolved configuration")
    _add_common(show)

    demo = sub.add_parser("demo-data", help="lay out the landing files of a pipeline's public demo dataset")
    _add_common(demo)
    demo.add_argument("--start", type=_date, help="first date to land, YYYY-MM-DD (default: the dataset's first)")
    demo.add_argument("--end", type=_date, help="last date to land (inclusive), YYYY-MM-DD (default: its last)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the command, and turn failures into a readable reason and exit code. What it prints
    has its secrets redacted, an uncaught exception's traceback too."""
    sys.excepthook = _redacted_excepthook
    parser = build_parser()
    args = parser.parse_args(argv)
    before = _active_session()
    try:
        return _dispatch(args)
    except ModelscaleError as exc:
        _fail(str(exc))
        return EXIT_USER_ERROR
    except ValueError as exc:  # argument combinations argparse cannot express
        parser.print_usage(sys.stderr)
        _fail(str(exc))
        return EXIT_USER_ERROR
    except Exception as exc:
        if not _is_spark_failure(exc):
            raise
        _fail(f"Spark failed with {_error_class(exc)}: {_first_line(exc)}{_log_trace(exc)}")
        return EXIT_SPARK_ERROR
    finally:
        _stop_own_session(before)


def _active_session() -> Any:
    """This thread's active Spark session (classic or Connect), None when there is none or pyspark is not loaded."""
    if "pyspark.sql" not in sys.modules:
        return None
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


def _stop_own_session(before: Any) -> None:
    """Stop the session this command started (a caller's session, a test's or a notebook's, is left alone).

    A Spark Connect client must stop before the interpreter exits: a Spark ML model the exit garbage-collects
    asks the server to drop it, and that call starts a gRPC thread, which Python refuses during shutdown, so
    the process hung after printing its error. Stopped, the client makes no more calls.
    """
    session = _active_session()
    if session is None or session is before:
        return
    from modelscale.session import is_connect

    if is_connect(session):  # releasing the server's session is best effort, tried once
        session.client.set_retry_policies([])
    session.stop()


def _is_spark_failure(exc: Exception) -> bool:
    """Spark's own errors: pyspark's (classic and Connect), the JVM gateway's and the Connect channel's."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    kinds: tuple[type[Exception], ...] = (PySparkException, Py4JError)
    try:
        import grpc

        kinds += (grpc.RpcError,)
    except ImportError:  # the Connect client is an extra
        pass
    return isinstance(exc, kinds)


def _error_class(exc: Exception) -> str:
    """``Type [ERROR_CLASS]``: the Python type and, when Spark names one, its error condition."""
    condition = exc.getCondition() if hasattr(exc, "getCondition") else None
    return f"{type(exc).__name__} [{condition}]" if condition else type(exc).__name__


def _first_line(exc: Exception) -> str:
    """The message's first line; for a gRPC status (``<_InactiveRpcError of RPC ...``) its ``details`` line."""
    lines = [line.strip() for line in str(exc).strip().splitlines()]
    details = [line.removeprefix("details = ").strip('"') for line in lines if line.startswith("details = ")]
    return (details or lines or ["(no message)"])[0]


def _log_trace(exc: Exception) -> str:
    """Write the full trace to the log files only (stderr keeps one paragraph); returns where it went."""
    logger = logging.getLogger("modelscale")
    files = [h for h in logger.handlers if isinstance(h, logging.FileHandler)]
    record = logger.makeRecord(logger.name, logging.ERROR, __file__, 0, "Spark failure", (),
                               (type(exc), exc, exc.__traceback__))
    for handler in files:
        handler.handle(record)
    return f" (the full trace is in {files[0].baseFilename})" if files else ""


def _redacted_excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """Print an uncaught exception as Python does, secrets redacted: a library's message may quote a URI or key."""
    print(redact_text("".join(traceback.format_exception(kind, exc, tb))), end="", file=sys.stderr)


def _fail(message: str) -> None:
    message = redact_text(message)
    print("modelscale: error: " + textwrap.fill(message, 100, subsequent_indent="  ")
          if "\n" not in message else "modelscale: error: " + message, file=sys.stderr)


def _dispatch(args: argparse.Namespace) -> int:
    from modelscale.config import load_config

    if args.command == "config":
        cfg = load_config(args.env, args.pipeline or _default_pipeline(args.env))
        print(yaml.safe_dump(redact(cfg.model_dump(mode="json", by_alias=True)), sort_keys=False), end="")
        return EXIT_OK
    if args.command == "demo-data":
        from modelscale.ingest.demo_data import demo_for, write_landing
        from modelscale.storage import s3

        cfg = load_config(args.env, args.pipeline or _default_pipeline(args.env))
        s3.configure(cfg.settings.storage.s3)  # a landing root on S3 is written with these settings
        folders = [src.path for src in cfg.pipeline.sources.values()] if cfg.pipeline else []
        summary = write_landing(cfg.settings.storage.landing, args.start, args.end, demo_for(folders))
        print(json.dumps(summary, indent=2, default=str))
        return EXIT_OK
    if args.command == "tables":
        return _tables(args)
    return _run(args)


def _default_pipeline(env: str) -> str | None:
    from modelscale.config import load_config

    return load_config(env).settings.default_pipeline


def _run(args: argparse.Namespace) -> int:
    from modelscale.config import load_config
    from modelscale.runner import build_context, is_alert, run_dates, run_job, run_pipeline, run_when_due

    pipeline = args.pipeline or _default_pipeline(args.env)
    config = load_config(args.env, pipeline)
    cadence = config.pipeline.schedule.cadence if config.pipeline else "daily"
    dates = run_dates(args.run_date, args.start, args.end, cadence)
    flags = {"reproduce": args.reproduce, "allow_failed_validation": args.allow_failed_validation}
    ctx = build_context(args.env, pipeline, dates, config=config, flags=flags)
    if args.job == "pipeline":
        results = run_pipeline(ctx)
    else:
        results = run_when_due(args.job, ctx) if args.when_due else [run_job(args.job, ctx)]
    for r in results:
        print(json.dumps(redact({"job": r.job, "ok": r.ok, **({"skipped": r.skipped} if r.skipped else {}),
                                 **({"message": r.message} if r.message else {}), "summary": r.summary}), default=str))
    alerts = [r for r in results if is_alert(r, ctx)]
    failed = [r for r in results if not r.ok and r not in alerts]
    for r in alerts:
        log.warning("monitoring alert: %s", r.message)
    for r in failed:
        _fail(f"job {r.job} failed: {r.message}")
    if failed:
        return EXIT_JOB_FAILED
    return EXIT_NOT_DUE if args.when_due and all(r.skipped for r in results) else EXIT_OK


def _tables(args: argparse.Namespace) -> int:
    from modelscale.runner import build_context

    ctx = build_context(args.env, args.pipeline or _default_pipeline(args.env), [dt.date.today()])
    rows: list[dict[str, Any]] = []
    from modelscale.catalog import Catalog

    for name in Catalog(ctx.settings, ctx.config.pipeline).names():
        if ctx.lakehouse.exists(name):
            info = ctx.lakehouse.info(name)
            rows.append({"name": name, "location": info.location, "version": info.version,
                         "rows": info.num_rows, "files": info.num_files})
        else:
            rows.append({"name": name, "location": ctx.lakehouse.location(name), "version": None,
                         "rows": None, "files": 0})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'table':<28} {'version':>7} {'rows':>12} {'files':>6}  location")
        for r in rows:
            version = "-" if r["version"] is None else r["version"]
            count = "-" if r["rows"] is None else f"{r['rows']:,}"
            print(f"{r['name']:<28} {version!s:>7} {count:>12} {r['files']:>6}  {r['location']}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
