"""The one error type forge shows to users: a single clear line, exit code 1 (2 for usage errors)."""

from __future__ import annotations


class ForgeError(Exception):
    """A user-facing failure. `message` says what is wrong, naming the file, field or object; `hint`, when forge
    knows one, how to fix it (a command to run, a flag to pass: Skaffold's "suggestion"); `detail` is shown with -v.
    `str(err)` is the one line users read: the message, then the hint in parentheses."""

    exit_code = 1

    def __init__(self, message: str, detail: str | None = None, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(ForgeError):
    exit_code = 2
