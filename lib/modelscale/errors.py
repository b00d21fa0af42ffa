"""Errors a user can act on.

Every failure that comes from bad input, bad config or a broken table is raised as a
`ModelscaleError` subclass whose message names the file, table, column or config key and
what was expected. The CLI prints these as one paragraph and exits non-zero; anything else
is a bug and keeps its stack trace. A message never holds a secret (`modelscale.secrets.redact_text`), wherever
it is shown: the CLI, a log, the operations log, a notebook's traceback.
"""

from modelscale.secrets import redact_text


class ModelscaleError(Exception):
    """Base class: a problem the user can fix, described in the message (secrets redacted)."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(redact_text(message))


class ConfigError(ModelscaleError):
    """A config file, key or value is wrong."""


class TableError(ModelscaleError):
    """A Delta table is missing, unreadable or refused by the engine."""


class SchemaMismatchError(TableError):
    """A write's columns or types do not match the table."""


class ConcurrentWriteError(TableError):
    """Another writer committed a conflicting change first."""


class InputDataError(ModelscaleError):
    """Landing files or source data are missing, unreadable or malformed beyond quarantine."""


class ConservationError(ModelscaleError):
    """Rows in != rows accepted + rows quarantined: something would have been lost."""
