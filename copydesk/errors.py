"""Errors a user can act on.

Every error raised to a user is a `CopydeskError` whose message says what failed and
what to do; the CLI prints it on one line and exits non-zero, without a traceback.
"""


class CopydeskError(Exception):
    """Base class for errors with a message meant for the person running Copydesk."""


class ConfigurationError(CopydeskError):
    """Settings are missing, inconsistent or unsafe."""


class StorageError(CopydeskError):
    """The object store could not be reached, refused us, or lacks what was asked for."""


class InvalidKeyError(StorageError, ValueError):
    """An object key escapes the key layout (absolute, `..`, control characters, ...)."""


class ObjectConflictError(StorageError):
    """An immutable object already exists under the key with different content."""


class DatabaseError(CopydeskError):
    """The database could not be reached or is not at the expected schema revision."""
