"""A forge.yaml written for the 2017 Forge: recognised and refused, with the rewrite it needs, in one line.

Why refuse rather than accept with a deprecation warning: the old file is a few lines and the message gives the
new one; the old fields carried credentials (`user`, `password`, registry `key`s), which this forge never reads
from forge.yaml (Docker's own store has them: `docker login`), so honouring half of the file and ignoring the rest
would hide a password kept in git; and one spelling per setting keeps forge.yaml readable for the next person.
"""

from __future__ import annotations

from typing import Any

# Top-level fields of the 2017 forge.yaml that this forge does not have.
OLD_FIELDS = ("docker-repo", "user", "password", "workdir", "search-path", "profiles")
SECRET_FIELDS = ("password", "key", "aws_secret_access_key")


def migration(data: dict[str, Any]) -> str | None:
    """How to rewrite `data`, a forge.yaml, when it is written for the 2017 Forge; None when it is not."""
    registry = data.get("registry")
    old = [name for name in OLD_FIELDS if name in data]
    if isinstance(registry, dict):
        old.insert(0, "registry (a mapping)")
    if not old:
        return None
    new = _registry(data)
    rewrite = f"write `registry: {new}` instead" if new else "remove them"
    secrets = any(name in data for name in SECRET_FIELDS) or (
        isinstance(registry, dict) and any(name in registry for name in SECRET_FIELDS))
    credentials = ("; forge reads registry credentials from `docker login`, never from forge.yaml: take the secret "
                   "out of the file and out of git's history" if secrets else "")
    return (f"written for the 2017 Forge ({', '.join(old)}): {rewrite}{credentials} (forge/README.md, \"From the "
            "2017 Forge\")")


def _registry(data: dict[str, Any]) -> str | None:
    """The `registry:` value that stands for the old registry settings, or None (a local registry, or none)."""
    registry = data.get("registry")
    if not isinstance(registry, dict):
        return _text(data.get("docker-repo"))
    kind = registry.get("type", "docker")
    if kind == "ecr" and registry.get("account") and registry.get("region"):
        return f"{registry['account']}.dkr.ecr.{registry['region']}.amazonaws.com"
    host = _text(registry.get("url"))
    path = _text(registry.get("namespace") if kind == "docker" else registry.get("project"))
    if kind not in ("docker", "gcr") or host is None:
        return None
    host = host.removeprefix("https://").removeprefix("http://").rstrip("/")
    return f"{host}/{path}" if path else host


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None
