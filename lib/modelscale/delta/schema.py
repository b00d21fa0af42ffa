"""Schema enforcement shared by both engines: a write's columns and types must match the table's.

Extra columns fail unless the write asks to evolve the schema; a type difference always fails;
missing nullable columns are filled with nulls. The conformed frame has the table's column order.
"""

from __future__ import annotations

import json

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructField, StructType

from modelscale.errors import SchemaMismatchError
from modelscale.sql_text import ident

CONSTRAINT_PREFIX = "delta.constraints."
MARKER = "[modelscale]"


def from_delta_json(schema_json: str) -> StructType:
    """A Delta schema string (same JSON layout as Spark's) as a Spark StructType."""
    return StructType.fromJson(json.loads(schema_json))


def conform(df: DataFrame, table_schema: StructType, table: str, *,
            merge_schema: bool) -> tuple[DataFrame, list[StructField]]:
    """``df`` in the table's column order (no casts), plus the new columns it brings (merge_schema)."""
    table_fields = {f.name: f for f in table_schema.fields}
    mismatched = [
        f"{f.name} (table {table_fields[f.name].dataType.simpleString()}, write {f.dataType.simpleString()})"
        for f in df.schema.fields
        if f.name in table_fields and not _same_type(f, table_fields[f.name])
    ]
    if mismatched:
        raise SchemaMismatchError(
            f"table {table}: column types differ from the table's: {', '.join(mismatched)}; "
            "cast the columns to the table's types before writing"
        )
    extra = [f for f in df.schema.fields if f.name not in table_fields]
    if extra and not merge_schema:
        raise SchemaMismatchError(
            f"table {table}: the write has columns the table does not have: "
            f"{', '.join(f'{f.name} {f.dataType.simpleString()}' for f in extra)}; "
            "drop them or write with merge_schema=True to add them"
        )
    present = set(df.columns)
    missing_required = [f.name for f in table_schema.fields if f.name not in present and not f.nullable]
    if missing_required:
        raise SchemaMismatchError(
            f"table {table}: the write lacks NOT NULL columns {', '.join(missing_required)}"
        )
    new_fields = [StructField(f.name, f.dataType, True, f.metadata) for f in extra]
    absent = {f.name: F.lit(None).cast(f.dataType) for f in table_schema.fields if f.name not in present}
    filled = df.withColumns(absent) if absent else df
    # SQL text: one call (as Column objects, a driver-to-JVM round trip per column)
    return filled.selectExpr(*[ident(f.name) for f in [*table_schema.fields, *new_fields]]), new_fields


def _same_type(a: StructField, b: StructField) -> bool:
    return a.dataType.simpleString() == b.dataType.simpleString()


def constraints_of(properties: dict[str, str]) -> dict[str, str]:
    """CHECK constraints (name -> SQL) declared in table properties."""
    return {k[len(CONSTRAINT_PREFIX):]: v for k, v in properties.items() if k.startswith(CONSTRAINT_PREFIX)}


def enforce(df: DataFrame, schema: StructType, checks: dict[str, str], table: str) -> DataFrame:
    """Fail the job (no extra scan) on a NULL in a NOT NULL column or a row violating a CHECK.

    A column ``df`` itself declares non-nullable (a literal, say) is not checked: Spark has proven it,
    and pushing that check down a large uncached plan costs its optimizer seconds.
    """
    proven = {f.name for f in df.schema.fields if not f.nullable}
    rules: list[tuple[str | Column, str]] = [
        (F.col(f.name).isNotNull(), f"NOT NULL column {f.name} got a null")
        for f in schema.fields if not f.nullable and f.name not in proven
    ]
    rules += [(sql, f"CHECK constraint {name} ({sql}) is violated") for name, sql in checks.items()]
    for condition, what in rules:
        df = df.filter(holds(condition, f"table {table}: {what}"))
    return df


def holds(condition: str | Column, message: str | Column) -> Column:
    """True where ``condition`` is true; a row where it is false or null fails the job with ``message``."""
    ok = F.expr(f"({condition})") if isinstance(condition, str) else condition
    text = F.concat(F.lit(MARKER + " "), message if isinstance(message, Column) else F.lit(message))
    return F.when(ok.eqNullSafe(True), F.lit(True)).otherwise(F.raise_error(text))


def violation(exc: BaseException) -> str | None:
    """The message of a `holds` failure inside a Spark error, None for any other error."""
    text = str(exc)
    at = text.find(MARKER)
    if at < 0:
        return None
    return text[at + len(MARKER):].strip().splitlines()[0].split(" SQLSTATE:")[0].strip()


def unique_keys(source: DataFrame, keys: list[str], table: str) -> DataFrame:
    """``source`` failing the job if two rows share a (non-null) key: each target row may match one."""
    n = F.count(F.lit(1)).over(Window.partitionBy(*keys))
    any_null = F.greatest(*[F.col(k).isNull() for k in keys]) if len(keys) > 1 else F.col(keys[0]).isNull()
    key_text = F.concat_ws(", ", *[F.coalesce(F.col(k).cast("string"), F.lit("null")) for k in keys])
    message = F.concat(F.lit(f"table {table}: merge source has more than one row for key ({', '.join(keys)}) = ("),
                       key_text, F.lit("); deduplicate the source"))
    counted = source.withColumn("__n", n)
    return counted.filter(holds(any_null | (F.col("__n") <= 1), message)).drop("__n")
