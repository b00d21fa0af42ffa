"""Persist a DataFrame for a stretch of work, where the compute allows it.

Databricks serverless refuses ``persist`` and ``cache`` (NOT_SUPPORTED_WITH_SERVERLESS), and a session
with ``modelscale.cache=false`` (``spark.conf`` in config) asks for none. There the frame is used as
it is and each use recomputes it from its source: slower, same results, since every frame cached here
is a deterministic function of table snapshots and landing files.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from modelscale.logs import get_logger

log = get_logger("caching")

CONF = "modelscale.cache"
_REFUSED = ("NOT_SUPPORTED_WITH_SERVERLESS",)


def caching_enabled(spark: SparkSession) -> bool:
    """False when the session's ``modelscale.cache`` is ``false``."""
    try:
        return str(spark.conf.get(CONF, "true")).strip().lower() != "false"
    except Exception:  # a compute that restricts conf reads: try, and let persist say no
        return True


def persisted(df: DataFrame, level: StorageLevel = StorageLevel.MEMORY_AND_DISK_DESER) -> DataFrame:
    """``df`` persisted (by default as ``cache()`` does), or ``df`` itself where caching is off or refused;
    pair with `release`."""
    if not caching_enabled(df.sparkSession):
        return df
    try:
        return df.persist(level)
    except Exception as exc:
        if not _refused(exc):
            raise
        log.warning("this compute does not allow persist (%s): frames are recomputed on each use; "
                    "set spark.conf %s=false to skip the attempt", type(exc).__name__, CONF)
        return df


def release(df: DataFrame) -> None:
    """Unpersist ``df`` (a no-op where it was never persisted)."""
    try:
        df.unpersist()
    except Exception as exc:
        if not _refused(exc):
            raise


@contextmanager
def cached(df: DataFrame, level: StorageLevel = StorageLevel.MEMORY_AND_DISK_DESER) -> Iterator[DataFrame]:
    """``df`` persisted for the block (see `persisted`) and released when it ends."""
    frame = persisted(df, level)
    try:
        yield frame
    finally:
        release(frame)


def _refused(exc: BaseException) -> bool:
    return any(code in str(exc) for code in _REFUSED)
