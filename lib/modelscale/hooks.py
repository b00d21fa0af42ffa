"""Python hooks named in config (``package.module:function``): resolved when config loads, so a typo is a
config error naming the key instead of a failure once Spark runs."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator


def resolve_hook(path: str) -> Callable[..., Any]:
    """The function ``path`` names; ValueError (a config error at load) saying what is missing."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"hook {path!r}: expected package.module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"hook {path!r}: cannot import {module_name!r} ({exc})") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ValueError(f"hook {path!r}: module {module_name!r} has no function {attr!r}")
    return fn


def _importable(path: str) -> str:
    resolve_hook(path)
    return path


HookPath = Annotated[str, AfterValidator(_importable)]
"""A config value naming a hook: checked to resolve when config loads."""
