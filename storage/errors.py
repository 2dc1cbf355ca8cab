"""Errors of the storage layer that callers act on."""


class WriteBusy(Exception):
    """The write lock did not come within the time a caller was willing to wait."""
