"""What a secret looks like, where one comes from, and how to hide it wherever config or messages leave the process.

A secret is

- the value of a key whose name says so (`is_secret_name`): secret, password, token, credential, signature,
  access/account/private/api key, sas, sig: ``spark.hadoop.fs.s3a.secret.key``, ``fs.azure.account.key.<account>``,
  ``MLFLOW_TRACKING_PASSWORD``, ``DATABRICKS_TOKEN``;
- in text: the password of a URI of any scheme (``https://user:password@host``, ``jdbc:mysql://user:pw@db``), the
  value of a ``name=value`` or ``name: value`` whose name says so (query parameters such as ``?sig=``,
  ``X-Amz-Credential=``, the ``;token=`` of a Spark Connect URL, ``AccountKey=`` of a connection string) and a
  bearer token;
- any value `lookup` fetched (a ``${secret:scope/key}`` reference in config) or `remember` was given, wherever it
  appears later, even out of context (an exception quoting it).

`redact` replaces only the secret part with ``***``, so ``https://user:***@host/path`` still says where it points.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

MASK = "***"
SECRET_ENV_PREFIX = "MODELSCALE_SECRET__"
# Also Spark's `spark.redaction.regex` (same syntax in Java) on the sessions we build: the Spark UI and event logs
# hide the values of these keys too.
SECRET_NAME_REGEX = (r"(?i)secret|passw(?:or)?d|token|credential|signature|(?:access|account|private|api)[._-]?key"
                     r"|(?<![a-z])(?:sas|sig)(?![a-z])")
_SECRET_NAME = re.compile(SECRET_NAME_REGEX)
# Each rule's group "secret" is what gets hidden; a rule with a group "name" applies when `is_secret_name(name)`.
# Names and schemes start a token (the lookbehinds), which keeps the scan linear on long tokens.
_RULES = (
    re.compile(r"(?<![\w+.\-])[a-z][a-z0-9+.\-]*://[^\s:/@?#]*:(?P<secret>[^\s@?#]+)@", re.IGNORECASE),
    re.compile(r"(?<![\w.\-])(?P<name>[A-Za-z_][\w.\-]*)['\"]?(?:[ \t]*=[ \t]*|:[ \t]+|:(?=['\"]))['\"]?"
               r"(?P<secret>[^\s&;,'\"(){}\[\]<>]+)"),
    re.compile(r"\bbearer[ \t]+(?P<secret>[\w.~+/=\-]+)", re.IGNORECASE),
)
# A reference to a secret in config (resolved by the config loader with `lookup`): it names a secret, it is not one.
SECRET_REF = re.compile(r"\$\{secret:([^}]*)\}")
_MIN_REMEMBERED = 6  # shorter values would hide ordinary words; they are still hidden in context
_remembered: set[str] = set()


class SecretNotFound(LookupError):
    """The store has no such secret; the message says where it looked (never a value)."""


def is_secret_name(name: str) -> bool:
    """Whether a key, variable or parameter name says that its value is a secret."""
    return _SECRET_NAME.search(name) is not None


def redact_text(text: str) -> str:
    """``text`` with every secret part replaced by ``***``."""
    out: list[str] = []
    last = 0
    for start, end in _merged(_secret_spans(text)):
        out += [text[last:start], MASK]
        last = end
    return "".join(out) + text[last:] if out else text


def holds_secret(text: str) -> bool:
    """Whether ``text`` holds a secret by its form (a URI password, a secret-named parameter, a bearer token)."""
    return next(_secret_spans(text, remembered=False), None) is not None


def redact(value: Any, secret: bool = False) -> Any:
    """``value`` (a string, or mappings and lists nested in any way) with secrets hidden: every non-empty value
    under a key whose name says secret as a whole (``secret``: ``value`` is one), other strings by `redact_text`."""
    return _walk(value, secret, _redact_leaf)


def remember(value: Any, secret: bool = False) -> None:
    """Make `redact_text` hide, from now on and anywhere, the secrets in ``value`` (walked like `redact`): whole
    values under secret-named keys (all of ``value`` when ``secret``), and the secret parts of other strings."""
    _walk(value, secret, _remember_leaf)


def env_name(scope: str, key: str) -> str:
    """The environment variable holding secret ``scope/key`` off Databricks: ``MODELSCALE_SECRET__<SCOPE>__<KEY>``
    in upper case, any character but a letter or digit as ``_`` (``aws/secret-key``:
    ``MODELSCALE_SECRET__AWS__SECRET_KEY``)."""
    return SECRET_ENV_PREFIX + "__".join(re.sub(r"[^A-Za-z0-9]", "_", part).upper() for part in (scope, key))


def lookup(scope: str, key: str) -> str:
    """Secret ``scope/key``: from the Databricks secret scope ``scope`` when running on Databricks, else from the
    environment variable `env_name`. The value is remembered (see `remember`)."""
    on_databricks = "DATABRICKS_RUNTIME_VERSION" in os.environ
    value = _databricks_secret(scope, key) if on_databricks else _environment_secret(scope, key)
    remember(value, secret=True)
    return value


def _environment_secret(scope: str, key: str) -> str:
    name = env_name(scope, key)
    if name not in os.environ:
        raise SecretNotFound(f"environment variable {name} is not set")
    return os.environ[name]


def _databricks_secret(scope: str, key: str) -> str:
    # the runtime's own dbutils: only on Databricks
    from databricks.sdk.runtime import dbutils

    try:
        return dbutils.secrets.get(scope=scope, key=key)
    except Exception as exc:  # no such scope or key, or no right to read it (dbutils raises JVM-side types)
        raise SecretNotFound(f"Databricks secret scope {scope!r} gave no key {key!r} ({type(exc).__name__})") from None


def _walk(value: Any, secret: bool, leaf: Callable[[Any, bool], Any]) -> Any:
    """``leaf(scalar, secret)`` on every scalar of ``value``, secret under a secret-named key; the same shape back."""
    if isinstance(value, dict):
        return {k: _walk(v, secret or is_secret_name(str(k)), leaf) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_walk(v, secret, leaf) for v in value)
    return leaf(value, secret)


def _redact_leaf(value: Any, secret: bool) -> Any:
    if secret and value not in (None, "") and not isinstance(value, bool):
        return MASK
    return redact_text(value) if isinstance(value, str) else value


def _remember_leaf(value: Any, secret: bool) -> Any:
    if isinstance(value, str):
        parts = [value] if secret else [value[start:end] for start, end in _secret_spans(value)]
        _remembered.update(p for p in parts if len(p) >= _MIN_REMEMBERED and p != MASK and not SECRET_REF.search(p))
    return value


def _secret_spans(text: str, remembered: bool = True) -> Iterator[tuple[int, int]]:
    """Where ``text`` holds a secret: remembered values (unless not ``remembered``), then the rules' matches."""
    for value in _remembered if remembered else ():
        start = text.find(value)
        while start != -1:
            yield start, start + len(value)
            start = text.find(value, start + len(value))
    for rule in _RULES:
        for match in rule.finditer(text):
            if "name" not in rule.groupindex or is_secret_name(match["name"]):
                yield match.span("secret")


def _merged(spans: Iterator[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans joined, in order."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out
