"""Run expectations through Great Expectations' own Spark engine.

Used for the expectations we do not compute ourselves (and, in the benchmark, as GX's naive plan).
GX persists the DataFrame it validates and never releases it: we unpersist it when GX is done.
"""

from __future__ import annotations

import uuid

import great_expectations as gx
from great_expectations.data_context.types.base import ProgressBarsConfig
from pyspark.sql import DataFrame

from modelscale.caching import caching_enabled, release
from modelscale.quality.outcome import Outcome
from modelscale.quality.suites import Check, build_suite


def run_with_gx(df: DataFrame, table: str, checks: list[Check]) -> list[Outcome]:
    """Validate ``df`` with GX (result format SUMMARY); one outcome per check, in order.

    GX persists what it validates and we release it: a projection of ``df``, so a frame the caller cached
    is neither reused nor released by GX.
    """
    if not checks:
        return []
    df = df.select(*df.columns)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = context.suites.add(build_suite(table, checks))
    name = f"modelscale_{uuid.uuid4().hex[:8]}"
    source = context.data_sources.add_spark(name, persist=caching_enabled(df.sparkSession))
    batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe(name)
    try:
        result = gx.ValidationDefinition(data=batch, suite=suite, name=name).run(
            batch_parameters={"dataframe": df}, result_format="SUMMARY")
    finally:
        release(df)
    by_name = {r.expectation_config.meta["name"]: r for r in result.results}
    return [_outcome(check, by_name[check.name]) for check in checks]


def _outcome(check: Check, r: gx.core.ExpectationValidationResult) -> Outcome:
    res = r.result or {}
    info = r.exception_info or {}
    return Outcome(
        check=check, success=bool(r.success), observed=res.get("observed_value"),
        element_count=res.get("element_count") if "unexpected_count" in res else None,
        unexpected_count=res.get("unexpected_count"), unexpected_percent=res.get("unexpected_percent"),
        error=info.get("exception_message") if info.get("raised_exception") else None,
    )
