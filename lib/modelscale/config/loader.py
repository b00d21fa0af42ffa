"""Load config: base.yaml, then conf/<env>.yaml, then environment variables, then the pipeline.

Environment variable overrides use the key path in upper case joined by double underscores,
prefixed ``MODELSCALE__``; the value is parsed as YAML::

    MODELSCALE__SPARK__SHUFFLE_PARTITIONS=8
    MODELSCALE__DELTA__ENGINE=delta-rs

``MODELSCALE__PIPELINE__`` + a key path overrides the pipeline file the same way, after it (a job on a cluster
or in a test changes the model search without a conf directory of its own)::

    MODELSCALE__PIPELINE__TRAINING__SEARCH__METHOD=none

A pipeline file may start with ``extends: <other pipeline>`` to reuse that pipeline's sources and
tables and override only what differs (mappings merge, lists and scalars replace).

String values may contain ``${home}`` (MODELSCALE_HOME), ``${env}`` (environment name) and
``${conf}`` (the conf directory), and ``${secret:<scope>/<key>}``: the secret from the Databricks secret scope
on Databricks, else from the environment variable ``MODELSCALE_SECRET__<SCOPE>__<KEY>`` (upper case, ``-`` and
other characters as ``_``; see `modelscale.secrets.lookup`). Every error names the file and the key path, and
never a secret's value: secrets in config and secret-named environment variables are remembered so that logs,
messages and MLflow hide them (`modelscale.secrets`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from modelscale.config.models import AppConfig, PipelineConfig, Settings
from modelscale.errors import ConfigError
from modelscale.home import modelscale_home
from modelscale.secrets import SECRET_REF, SecretNotFound, is_secret_name, lookup, redact, remember

ENV_PREFIX = "MODELSCALE__"
CONF_ENV = "MODELSCALE_CONF"
PIPELINE_KEY = "pipeline"  # MODELSCALE__PIPELINE__<key path> overrides the pipeline file
_PLACEHOLDER = re.compile(r"\$\{(home|env|conf)\}")


def default_conf_dir() -> Path:
    """``$MODELSCALE_CONF``, else ``./conf``, else the conf inside the package: an installed wheel carries the
    default conf (in a checkout ``lib/modelscale/conf`` links to the repository's ``conf/``)."""
    if os.environ.get(CONF_ENV):
        return Path(os.environ[CONF_ENV]).resolve()
    here = Path.cwd() / "conf"
    if (here / "base.yaml").exists():
        return here.resolve()
    return (Path(__file__).resolve().parents[1] / "conf").resolve()


def list_pipelines(conf_dir: Path | None = None) -> list[str]:
    """Names of the pipelines declared under ``conf/pipelines``."""
    folder = (conf_dir or default_conf_dir()) / "pipelines"
    return sorted(p.stem for p in folder.glob("*.yaml"))


def load_config(
    env: str = "local",
    pipeline: str | None = None,
    conf_dir: Path | str | None = None,
    overrides: dict[str, Any] | None = None,
) -> AppConfig:
    """Resolve and validate the config for ``env`` and optionally one pipeline."""
    conf = Path(conf_dir).resolve() if conf_dir else default_conf_dir()
    home = modelscale_home()
    base_file = conf / "base.yaml"
    env_file = conf / f"{env}.yaml"
    if not env_file.exists():
        known = sorted(p.stem for p in conf.glob("*.yaml") if p.stem != "base")
        raise ConfigError(f"unknown environment {env!r}: {env_file} does not exist (known: {', '.join(known)})")

    remember(dict(os.environ))  # credentials given as environment variables are hidden from here on
    origins: dict[tuple[str, ...], str] = {}
    merged: dict[str, Any] = {}
    for f in (base_file, env_file):
        _merge(merged, _read_yaml(f), str(f), origins, ())
    from_env = _env_overrides()
    pipeline_from_env = from_env.pop(PIPELINE_KEY, None) or {}
    if not isinstance(pipeline_from_env, dict):
        raise ConfigError(f"environment variables: {ENV_PREFIX}{PIPELINE_KEY.upper()}: expected key paths under it "
                          f"({ENV_PREFIX}{PIPELINE_KEY.upper()}__TRAINING__SEARCH__METHOD=none), not a value")
    _merge(merged, from_env, "environment variables", origins, ())
    if overrides:
        _merge(merged, overrides, "command-line overrides", origins, ())
    merged["env"] = env
    merged["home"] = str(home)
    subs = {"home": str(home), "env": env, "conf": str(conf)}
    merged = _interpolate(merged, subs, lambda loc: _origin_of(loc, origins, str(env_file)))
    remember(merged)
    settings = _validate(Settings, merged, origins, str(env_file))

    pipeline_cfg = None
    if pipeline:
        p_file = conf / "pipelines" / f"{pipeline}.yaml"
        if not p_file.exists():
            raise ConfigError(
                f"unknown pipeline {pipeline!r}: {p_file} does not exist "
                f"(known: {', '.join(list_pipelines(conf)) or 'none'})"
            )
        p_origins: dict[tuple[str, ...], str] = {}
        raw = _read_pipeline(conf, pipeline, p_origins, ())
        _merge(raw, pipeline_from_env, f"environment variables ({ENV_PREFIX}{PIPELINE_KEY.upper()}__...)",
               p_origins, ())
        raw = _interpolate(raw, subs, lambda loc: _origin_of(loc, p_origins, str(p_file)))
        remember(raw)
        raw["name"] = pipeline
        pipeline_cfg = _validate(PipelineConfig, raw, p_origins, str(p_file))
    return AppConfig(settings=settings, pipeline=pipeline_cfg)


def _read_pipeline(
    conf: Path, name: str, origins: dict[tuple[str, ...], str], chain: tuple[str, ...]
) -> dict[str, Any]:
    """A pipeline file merged over the one it ``extends`` (sharing sources and tables)."""
    path = conf / "pipelines" / f"{name}.yaml"
    if name in chain:
        raise ConfigError(f"{path}: extends forms a cycle: {' -> '.join((*chain, name))}")
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    merged: dict[str, Any] = {}
    if parent is not None:
        if not (conf / "pipelines" / f"{parent}.yaml").exists():
            raise ConfigError(f"{path}: extends: unknown pipeline {parent!r} "
                              f"(known: {', '.join(list_pipelines(conf))})")
        merged = _read_pipeline(conf, str(parent), origins, (*chain, name))
    _merge(merged, data, str(path), origins, ())
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def _merge(
    into: dict[str, Any], new: dict[str, Any], origin: str, origins: dict[tuple[str, ...], str], path: tuple[str, ...]
) -> None:
    """Deep-merge ``new`` into ``into`` and remember which file set each key."""
    for key, value in new.items():
        here = (*path, str(key))
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, origin, origins, here)
        else:
            into[key] = value
        origins[here] = origin


def _env_overrides() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, raw in os.environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX):].split("__") if k]
        if not keys:
            continue
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        try:
            node[keys[-1]] = yaml.safe_load(raw) if raw != "" else None
        except yaml.YAMLError:
            node[keys[-1]] = raw
    return out


def _interpolate(
    value: Any, subs: dict[str, str], origin: Callable[[tuple[str, ...]], str], path: tuple[str, ...] = ()
) -> Any:
    """Placeholders and secret references replaced in every string; ``origin`` names the file of a key path."""
    if isinstance(value, str):
        value = _PLACEHOLDER.sub(lambda m: subs[m.group(1)], value)
        return SECRET_REF.sub(lambda m: _secret(m, origin, path), value)
    if isinstance(value, dict):
        return {k: _interpolate(v, subs, origin, (*path, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, subs, origin, (*path, str(i))) for i, v in enumerate(value)]
    return value


def _secret(ref: re.Match[str], origin: Callable[[tuple[str, ...]], str], path: tuple[str, ...]) -> str:
    """The value of a ``${secret:scope/key}`` reference; a ConfigError naming the key path and the reference."""
    scope, _, key = ref.group(1).partition("/")
    where = f"{origin(path)}: {'.'.join(path)}: {ref.group(0)}"
    if not (scope and key):
        raise ConfigError(f"{where}: expected a secret reference as ${{secret:<scope>/<key>}}")
    try:
        return lookup(scope, key)
    except SecretNotFound as exc:
        raise ConfigError(f"{where}: no such secret ({exc})") from None


def _validate(model: type, data: dict[str, Any], origins: dict[tuple[str, ...], str], default_origin: str):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origins, default_origin)) from None


def _describe(exc: ValidationError, origins: dict[tuple[str, ...], str], default_origin: str) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        key = ".".join(loc) or "(top level)"
        origin = _origin_of(loc, origins, default_origin)
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if "input" in err and not isinstance(err["input"], dict | list):
                msg += f" (got {redact(err['input'], is_secret_name(key))!r})"
        lines.append(f"{origin}: {key}: {msg}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def _origin_of(loc: tuple[str, ...], origins: dict[tuple[str, ...], str], default: str) -> str:
    for n in range(len(loc), 0, -1):
        if loc[:n] in origins:
            return origins[loc[:n]]
    return default
