"""Errors that users are meant to read.

Every error a user can cause by their input derives from :class:`FrenkError`; the
entry points print its message (no stack trace) and exit with status 2.
"""


class FrenkError(Exception):
    """An error caused by the user's input or environment, with a message that says how to fix it."""


class ConfigError(FrenkError):
    """A parameter has a value that cannot be used."""


class DataError(FrenkError):
    """Input data is malformed (names the file and row where possible)."""


class ModelError(FrenkError):
    """A model cannot be found, loaded or does not fit the data."""


class TrackingError(FrenkError):
    """The MLflow tracking server or its runs cannot be used as asked."""
