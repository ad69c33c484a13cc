"""The class commands' one error type: a single line, `shopbox-class: error: ...`."""

from __future__ import annotations


class ClassError(Exception):
    """A failure shown as one line, exit status 1 (2 for bad usage or input: UsageError)."""

    exit_code = 1


class UsageError(ClassError):
    exit_code = 2
