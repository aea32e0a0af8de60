"""Errors a user can act on. The CLI turns them into one line and exit code 2."""


class SpotterError(Exception):
    """Base class for user-facing errors (bad input, limits, missing resources)."""

    exit_code = 2


class InputError(SpotterError):
    """The input file cannot be analysed (not a video, truncated, empty, too big...)."""


class OutputError(SpotterError):
    """The output folder cannot be written (read-only, disk full...)."""
