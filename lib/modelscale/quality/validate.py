"""Validate one DataFrame against a suite in one aggregate pass (and a uniqueness pass beside it),
without persisting it.

Every row rule adds its failure flag to one ``select`` over the source (the names of the failed
expectations end up in ``_dq_failed``); one aggregate over that yields the row count, every rule's
unexpected and domain counts and every table-level aggregate. Beside it, one job per uniqueness
rule tells whether any of its keys repeats (`key_repeats`); when none does (the usual case) the
passes are all. Otherwise the duplicated keys are found (a keys-only ``groupBy``), cached,
broadcast-joined back to flag the rows, and the row counts are aggregated again. Passing rows are a lazy filter of
the flagged frame and the failing rows (for the quarantine) are a second filtered pass, made only
when some row failed.
Expectations we do not compute ourselves run through GX, which persists its input and releases it.

The aggregate is not observed (``DataFrame.observe``) on the quarantine write, which would save a pass: in
Spark 4.1 an ``Observation`` leaves the session unserializable, and every later job that ships it (a
LogisticRegressionModel's transform carries its training summary's session) fails with "Task not
serializable: ObservationManager" (also GoogleCloudDataproc/spark-bigquery-connector#1455).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import reduce
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from modelscale.caching import persisted, release
from modelscale.errors import ConservationError
from modelscale.key_repeats import KeySet, count_key_repeats
from modelscale.quality.aggregates import TableRule, table_rule
from modelscale.quality.gxrun import run_with_gx
from modelscale.quality.outcome import Outcome
from modelscale.quality.rowrules import Duplicates, RowRule, duplicates_of, row_rule
from modelscale.quality.suites import Check
from modelscale.sql_text import ident, string

FAILED = "_dq_failed"
QUARANTINE = "_dq_quarantine"


@dataclass(frozen=True)
class FrameValidation:
    """Outcomes in suite order, row counts, and the (lazy, unpersisted) flagged frame.

    A row is quarantined when it broke an ``error``-severity row rule; ``_dq_failed`` lists every
    rule it broke (``warn`` ones included), and rows breaking only ``warn`` rules pass.
    """

    table: str
    outcomes: list[Outcome]
    rows: int
    failing_rows: int
    flagged: DataFrame
    columns: list[str]
    failed_names: str

    @property
    def ok(self) -> bool:
        return not any(o.blocking for o in self.outcomes)

    @property
    def passing_rows(self) -> int:
        return self.rows - self.failing_rows

    def failing(self) -> DataFrame:
        """Rows for the quarantine, with the names of the rules they broke in ``_dq_failed``.

        A filtered pass over the source when some row failed; an empty frame (no scan) otherwise.
        """
        rows = self.flagged.where(QUARANTINE if self.failing_rows else "FALSE")
        return rows.selectExpr(*map(ident, self.columns), f"{self.failed_names} AS {FAILED}")

    def passing(self) -> DataFrame:
        """Rows that flow on, with the input columns only."""
        return self.flagged.where(f"NOT {QUARANTINE}").selectExpr(*map(ident, self.columns))

    def check_conserved(self, quarantined: int, passed: int | None = None) -> None:
        """Raise ConservationError unless rows == passing + quarantined."""
        passed = self.passing_rows if passed is None else passed
        if passed + quarantined != self.rows:
            raise ConservationError(
                f"table {self.table}: validated {self.rows:,} rows but {passed:,} passed and "
                f"{quarantined:,} were quarantined ({self.rows - passed - quarantined:+,} unaccounted)"
            )


@contextmanager
def validation(df: DataFrame, table: str, checks: list[Check]) -> Iterator[FrameValidation]:
    """Validate ``df``: outcomes and counts are computed on entry; the block reads them and the row split
    (the cached duplicated-key frames, if any key repeats, are released when it ends)."""
    keyed = list(dict.fromkeys(d for c in checks if (d := duplicates_of(c)) is not None))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dq-unique") as pool:
        # The uniqueness pass shuffles every key hash; as its own job it starts before the row rules are
        # even built, and its tasks fill the cores the aggregate's single-task stages leave idle.
        repeats = [pool.submit(count_key_repeats, df, _key_set(d)) for d in keyed]
        rows = [r for c in checks if (r := row_rule(c)) is not None]
        row_names = {r.check.name for r in rows}
        aggs = [t for c in checks if c.name not in row_names and (t := table_rule(c)) is not None]
        flagged = flag_rows(df, rows, {})
        values = _values(flagged, _aggregates(rows, aggs))
        repeated = [d for d, r in zip(keyed, repeats, strict=True) if r.result() > 0]
    covered = row_names | {t.check.name for t in aggs}
    rest = [c for c in checks if c.name not in covered]
    # Only the (small) duplicated-key frames are cached: the failing-rows pass reuses them.
    duplicated = {d: persisted(_duplicated_keys(df, d)) for d in repeated}
    try:
        if duplicated:  # only the row counts depend on the duplicate flags; table aggregates stand
            flagged = flag_rows(df, rows, duplicated)
            values |= _values(flagged, _aggregates(rows, []))
        outcomes = {o.check.name: o for o in _row_outcomes(rows, values)}
        outcomes |= {t.check.name: _table_outcome(t, i, values, df.schema) for i, t in enumerate(aggs)}
        outcomes |= {o.check.name: o for o in run_with_gx(df, table, rest)}
        yield FrameValidation(table=table, outcomes=[outcomes[c.name] for c in checks], rows=values["_rows"],
                              failing_rows=values["_failing"], flagged=flagged, columns=df.columns,
                              failed_names=_failed_names(rows))
    finally:
        for frame in duplicated.values():
            release(frame)


def flag_rows(df: DataFrame, rows: list[RowRule], duplicated: dict[Duplicates, DataFrame]) -> DataFrame:
    """``df`` + one boolean ``_dq_f<i>`` per row rule + ``_dq_quarantine`` (broke an ``error`` rule).

    ``duplicated`` holds the duplicated keys of a uniqueness rule's `Duplicates` (`_duplicated_keys`);
    a rule missing from it has none, and no row fails it. One ``selectExpr``: later expressions read
    earlier ones by alias (Spark's lateral column aliases), so the flags are analysed once, not per column.
    """
    joined, absent = df, []
    for dup in dict.fromkeys(r.duplicates for r in rows if r.duplicates is not None):
        keys = duplicated.get(dup)
        if keys is None:
            absent.append(f"CAST(NULL AS BOOLEAN) AS {ident(dup.column)}")
        else:
            joined = _join_duplicates(joined, dup, keys)
    flags = [f"{r.fails} AS _dq_f{i}" for i, r in enumerate(rows)]
    errors = [f"_dq_f{i}" for i, r in enumerate(rows) if r.check.severity == "error"]
    return joined.selectExpr(*map(ident, df.columns), *absent, *flags,
                             f"{' OR '.join(errors) or 'FALSE'} AS {QUARANTINE}")


def _key_set(dup: Duplicates) -> KeySet:
    """The keys a uniqueness rule tests, for `count_key_repeats`."""
    return KeySet(dup.keys, dup.condition)


def _aliases(dup: Duplicates) -> list[str]:
    return [f"{dup.column}_k{j}" for j in range(len(dup.keys))]


def _duplicated_keys(source: DataFrame, dup: Duplicates) -> DataFrame:
    """The keys occurring more than once in ``source`` (a keys-only aggregate), as ``<column>_k<j>``."""
    keyed = source if dup.condition is None else source.where(F.expr(dup.condition))
    return (keyed.groupBy(*[F.col(k).alias(a) for k, a in zip(dup.keys, _aliases(dup), strict=True)])
            .count().where(F.col("count") > 1)
            .select(*_aliases(dup), F.lit(True).alias(dup.column)))


def _join_duplicates(frame: DataFrame, dup: Duplicates, duplicated: DataFrame) -> DataFrame:
    """``frame`` + ``dup.column`` (true where the keys are in ``duplicated``, else null).

    The duplicated keys are few when the data is sound; they are broadcast, so the rows are flagged
    without shuffling or windowing the whole frame. Keys compare null-safe: rows with the same
    missing key values count as duplicates.
    """
    aliases = _aliases(dup)
    on = reduce(operator.and_, [F.col(k).eqNullSafe(F.col(a)) for k, a in zip(dup.keys, aliases, strict=True)])
    return frame.join(F.broadcast(duplicated), on=on, how="left").drop(*aliases)


def _failed_names(rows: list[RowRule]) -> str:
    """The names of the rules a flagged row broke (no higher-order functions: plain codegen)."""
    names = [f"IF(_dq_f{i}, {string(r.check.name)}, '')" for i, r in enumerate(rows)]
    return f"array_remove(array({', '.join(names)}), '')" if names else "CAST(array() AS array<string>)"


def _aggregates(rows: list[RowRule], aggs: list[TableRule]) -> list[str]:
    """The row counts and every rule's counts, then the table rules' metrics (SQL text)."""
    counts = ["count(1) AS _rows", f"count_if({QUARANTINE}) AS _failing"]
    for i, r in enumerate(rows):
        counts += [f"count_if(_dq_f{i}) AS _r{i}_fail", f"count_if({r.domain}) AS _r{i}_domain"]
    return counts + [f"{expr} AS _t{i}_{key}" for i, t in enumerate(aggs) for key, expr in t.metrics.items()]


def _values(flagged: DataFrame, aggregates: list[str]) -> dict[str, Any]:
    """The aggregates over ``flagged``, by name: one global aggregate, one parse of the list."""
    return flagged.selectExpr(*aggregates).collect()[0].asDict()


def _row_outcomes(rows: list[RowRule], values: dict[str, Any]) -> list[Outcome]:
    out = []
    for i, r in enumerate(rows):
        failed, domain = values[f"_r{i}_fail"], values[f"_r{i}_domain"]
        share = failed / domain if domain else 0.0
        out.append(Outcome(check=r.check, success=(1.0 - share) >= r.mostly - 1e-12, element_count=domain,
                           unexpected_count=failed, unexpected_percent=100.0 * share))
    return out


def _table_outcome(rule: TableRule, index: int, values: dict[str, Any], schema: StructType) -> Outcome:
    metrics = {key: values[f"_t{index}_{key}"] for key in rule.metrics}
    success, observed = rule.observe(metrics, schema)
    return Outcome(check=rule.check, success=bool(success), observed=observed)
