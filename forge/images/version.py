"""Content versions: the same sources and build args give the same version on any machine.

A container's version covers exactly what Docker gets: its Dockerfile, every file of its build context that
.dockerignore does not exclude (tracked by git or not; matched by the docker SDK's .dockerignore rules, see
forge.images.dockerignore, so the hash and the build context agree), and its build args.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from forge.config.workspace import display_path
from forge.errors import ForgeError
from forge.images.dockerignore import included_paths
from forge.model import Container

LENGTH = 16  # hex characters of sha256 kept in a version
_CHUNK = 1 << 20


def context_files(container: Container) -> list[str]:
    """Paths (relative, '/'-separated, sorted) of the build context that Docker would receive."""
    dockerfile = os.path.relpath(container.dockerfile, container.context)
    try:
        paths = included_paths(str(container.context), dockerfile)
    except OSError as err:
        where = display_path(Path(err.filename or container.context))
        raise ForgeError(f"{where}: cannot read it (build context of {display_path(container.dockerfile)}): "
                         f"{err.strerror}") from err
    return sorted(Path(p).as_posix() for p in paths)


def hash_entry(digest: Any, root: Path, relative: str) -> None:
    """Add one file, directory or link of a tree to `digest` (path, kind, executable bit, content)."""
    path = root / relative
    info = os.lstat(path)
    if stat.S_ISDIR(info.st_mode):
        digest.update(b"dir\0" + relative.encode() + b"\0")
    elif stat.S_ISLNK(info.st_mode):
        digest.update(b"link\0" + relative.encode() + b"\0" + os.readlink(path).encode() + b"\0")
    elif stat.S_ISREG(info.st_mode):
        # Only the executable bit: other mode bits depend on the machine's umask, not on the sources.
        mode = b"755" if info.st_mode & stat.S_IXUSR else b"644"
        digest.update(b"file\0" + relative.encode() + b"\0" + mode + b"\0" + str(info.st_size).encode() + b"\0")
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)


def container_version(container: Container, build_args: Mapping[str, str]) -> str:
    """sha256 (16 hex) of the Dockerfile, the non-ignored build context and the build args."""
    digest = hashlib.sha256()
    try:
        digest.update(b"dockerfile\0" + container.dockerfile.read_bytes() + b"\0")
        for relative in context_files(container):
            hash_entry(digest, container.context, relative)
    except OSError as err:
        where = display_path(Path(err.filename or container.context))
        raise ForgeError(f"{where}: cannot read: {err.strerror}") from err
    digest.update(b"args\0" + json.dumps(dict(build_args), sort_keys=True).encode())
    return digest.hexdigest()[:LENGTH]


def combined_version(versions: Mapping[str, str]) -> str:
    """One version for several containers: a hash of their names and versions."""
    if len(versions) == 1:
        return next(iter(versions.values()))
    text = "".join(f"{name}={version}\n" for name, version in sorted(versions.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:LENGTH]
