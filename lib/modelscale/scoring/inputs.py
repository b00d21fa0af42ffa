"""Check that a table has every column a model reads, with a type the model accepts."""

from __future__ import annotations

from pyspark.sql.types import NumericType, StringType, StructType

from modelscale.errors import SchemaMismatchError

# MLflow signature type -> what the Spark column must be.
_NUMERIC = {"integer", "long", "float", "double"}


def expected_inputs(signature: dict[str, str] | None, categorical: list[str], numeric: list[str]) -> dict[str, str]:
    """Column -> ``string`` or ``numeric``: from the model's signature, else from the model config."""
    if signature is not None:
        return {c: "numeric" if t in _NUMERIC else t for c, t in signature.items()}
    return {**{c: "string" for c in categorical}, **{c: "numeric" for c in numeric}}


def check_inputs(schema: StructType, expected: dict[str, str], *, table: str, model: str) -> None:
    """Raise `SchemaMismatchError` naming every missing or wrongly typed column of ``table``."""
    fields = {f.name: f.dataType for f in schema.fields}
    problems = []
    for column, kind in expected.items():
        found = fields.get(column)
        if found is None:
            problems.append(f"{column} is missing (expected {kind})")
        elif kind == "numeric" and not isinstance(found, NumericType):
            problems.append(f"{column} is {found.simpleString()} (expected a numeric type)")
        elif kind == "string" and not isinstance(found, StringType):
            problems.append(f"{column} is {found.simpleString()} (expected string)")
    if problems:
        raise SchemaMismatchError(f"table {table!r} cannot be scored by model {model}: {'; '.join(problems)}")
