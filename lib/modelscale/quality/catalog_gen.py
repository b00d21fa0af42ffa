"""Regenerate ``expectation_catalog.json`` from the installed Great Expectations.

The catalog lets config loading check expectation names and arguments without importing GX (the
Airflow environment does not have it). Run after upgrading GX, and commit the file::

    python -m modelscale.quality.catalog_gen

tests/quality/test_expectation_catalog.py fails when the shipped file and the installed GX differ.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import sys
import types
import typing
from typing import Any

from modelscale.quality.catalog import CATALOG_PATH

# Fields every expectation inherits that are not arguments a suite sets (severity and meta come
# from the spec's own severity/name; the rest is GX bookkeeping).
_RESERVED = ("id", "meta", "severity", "rendered_content", "batch_id", "windows")


def generate() -> dict[str, Any]:
    """Every registered expectation: its arguments, the required ones and their coarse value kinds."""
    from great_expectations.expectations.registry import (
        get_expectation_impl,
        list_registered_expectation_implementations,
    )

    out: dict[str, Any] = {}
    for name in sorted(list_registered_expectation_implementations()):
        cls = get_expectation_impl(name)
        args: dict[str, Any] = {}
        for field_name, field in sorted(cls.__fields__.items()):
            if field_name in _RESERVED:
                continue
            kinds, choices = _kinds(field.outer_type_)
            if field.allow_none:
                kinds.add("null")
            spec: dict[str, Any] = {"required": bool(field.required)}
            if "any" not in kinds:
                spec["kinds"] = sorted(kinds)
            if choices is not None:
                spec["choices"] = choices
            args[field_name] = spec
        out[name] = args
    return {"generated_from": _gx_version(), "reserved": list(_RESERVED), "expectations": out}


def render(catalog: dict[str, Any]) -> str:
    return json.dumps(catalog, indent=1, sort_keys=True) + "\n"


def _gx_version() -> str:
    import great_expectations

    return f"great_expectations {great_expectations.__version__}"


def _kinds(tp: Any) -> tuple[set[str], list[Any] | None]:
    """Coarse JSON kinds a value of annotation ``tp`` may have: scalar, array, object, null (or any);
    plus the allowed values when ``tp`` is a Literal or Enum."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _kinds(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        kinds: set[str] = set()
        choices: list[Any] | None = []
        for arg in typing.get_args(tp):
            k, c = _kinds(arg)
            kinds |= k
            choices = None if c is None or choices is None else choices + c
        return kinds, choices
    if origin is typing.Literal:
        return {"scalar"}, list(typing.get_args(tp))
    if tp is type(None):
        return {"null"}, []
    if tp is Any or tp is object:
        return {"any"}, None
    cls = origin or tp
    if not isinstance(cls, type):
        return {"any"}, None
    if issubclass(cls, enum.Enum):
        return {"scalar"}, [m.value for m in cls]
    if issubclass(cls, str | int | float | bool | dt.date | dt.datetime | dt.time | dt.timedelta):
        return {"scalar"}, None
    if issubclass(cls, list | tuple | set | frozenset):
        return {"array"}, None
    if issubclass(cls, dict) or hasattr(cls, "__fields__"):  # dicts and pydantic models
        return {"object"}, None
    return {"any"}, None


def main() -> int:
    CATALOG_PATH.write_text(render(generate()), encoding="utf-8")
    print(f"wrote {CATALOG_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
