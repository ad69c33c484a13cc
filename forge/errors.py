"""The one error type forge shows to users: a single clear line, exit code 1 (2 for usage errors)."""

from __future__ import annotations


class ForgeError(Exception):
    """A user-facing failure. `str(err)` is one line naming the file, field or object; `detail` is shown with -v."""

    exit_code = 1

    def __init__(self, message: str, detail: str | None = None):
        super().__init__(message)
        self.detail = detail


class UsageError(ForgeError):
    exit_code = 2
