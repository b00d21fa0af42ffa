"""Readable logging: one line per step with row counts and durations, and never a secret."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from modelscale.secrets import redact_text

_FORMAT = "%(asctime)s %(levelname)-5s %(name)s | %(message)s"


class RedactingFilter(logging.Filter):
    """Hides secrets (`modelscale.secrets`) in a record's message with its arguments, traceback and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the message: the handler reports it as usual
            return True
        record.msg, record.args = redact_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)  # what the handler would print
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


def setup_logging(level: str = "INFO", log_dir: Path | None = None) -> None:
    """Log to stderr and, when ``log_dir`` is given, to ``log_dir/modelscale.log``, secrets redacted."""
    root = logging.getLogger("modelscale")
    root.setLevel(level)
    root.propagate = False
    for h in list(root.handlers):
        root.removeHandler(h)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_dir / "modelscale.log", encoding="utf-8"))
    for h in handlers:
        h.setFormatter(logging.Formatter(_FORMAT, datefmt="%H:%M:%S"))
        h.addFilter(RedactingFilter())
        root.addHandler(h)
    for noisy in ("py4j", "pyspark"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> logging.Logger:
    """A logger under the ``modelscale`` hierarchy."""
    return logging.getLogger(name if name.startswith("modelscale") else f"modelscale.{name}")


def format_fields(fields: dict[str, Any]) -> str:
    """``k=v`` pairs, thousands separated for integers."""
    parts = []
    for k, v in fields.items():
        parts.append(f"{k}={v:,}" if isinstance(v, int) and not isinstance(v, bool) else f"{k}={v}")
    return " ".join(parts)


@contextmanager
def step(log: logging.Logger, name: str, **fields: Any) -> Iterator[dict[str, Any]]:
    """Time a step; the caller adds counts to the yielded dict and one line is logged at the end."""
    info: dict[str, Any] = dict(fields)
    start = time.perf_counter()
    try:
        yield info
    except Exception:
        log.error("%s failed after %.1fs %s", name, time.perf_counter() - start, format_fields(info))
        raise
    log.info("%s done in %.1fs %s", name, time.perf_counter() - start, format_fields(info))
