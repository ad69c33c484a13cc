"""One readable phrase for a failed network call (a registry, the Docker engine, Prometheus), e.g. `Connection
refused`: what forge's one-line errors say after the address."""

from __future__ import annotations

import re

import requests

_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")(]+)")
_OS_ERROR = re.compile(r"Error\(-?\d+, '([^']+)'\)")  # e.g. FileNotFoundError(2, 'No such file or directory')


def describe_error(exc: BaseException) -> str:
    """The readable part of a requests/urllib3/docker error, e.g. `Connection refused`."""
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed (a plain-HTTP registry must be on localhost, 127.x or *.local)"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.InvalidSchema | requests.exceptions.MissingSchema):
        return "not an http:// or https:// URL"
    if isinstance(exc, requests.exceptions.InvalidURL):
        return "not a valid URL"
    text = str(exc)
    match = _ERRNO.search(text) or _OS_ERROR.search(text)
    if match:
        return match.group(1).strip()
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:200] if first and "Error(" not in first else "failed"  # never a library's class name
