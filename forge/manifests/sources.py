"""The files a service's templates read (the templates and what they include), and the version of a service
without containers: a hash of its descriptor and those files (the image versions are forge.images.version's)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import jinja2
import jinja2.meta

from forge.config.discover import is_service_dir, is_skipped_dir
from forge.images.version import LENGTH, hash_entry
from forge.manifests.render import environment, templates
from forge.model import Service

# How a template names another file (an include, import, from or extends tag); text without one is not parsed.
_REFERENCING_TAG = re.compile(r"\{%[-+]?\s*(?:include|import|from|extends)\b")


def config_version(service: Service) -> str:
    """Version of a service without containers: its effective descriptor (with --set), its k8s templates and the
    files they include (transitively). Other files (a README, notes) do not count: editing them must not roll
    the pods. A template that includes a computed name makes every file of the service directory count."""
    digest = hashlib.sha256(json.dumps(service.data, sort_keys=True, default=str).encode())
    for relative in template_sources(service):
        hash_entry(digest, service.root, relative)
    return digest.hexdigest()[:LENGTH]


def template_sources(service: Service) -> list[str]:
    """The templates and every file they include, import or extend, as paths relative to the service dir."""
    jinja = environment(service.root)
    pending = [t.relative_to(service.root).as_posix() for t in templates(service)]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or not (service.root / name).is_file():
            continue  # a missing include is reported by the render, with its line
        seen.add(name)
        try:
            text = (service.root / name).read_text(encoding="utf-8")
            if not _REFERENCING_TAG.search(text):
                continue  # names no other file (parsing is the slow part of a render's versions)
            tree = jinja.parse(text)
        except (jinja2.TemplateSyntaxError, UnicodeDecodeError):
            continue  # reported by the render, with its line
        for referenced in jinja2.meta.find_referenced_templates(tree):
            if referenced is None:
                return _all_files(service)
            pending.append(referenced)
    return sorted(seen)


def _all_files(service: Service) -> list[str]:
    """Every file of the service directory, nested services and caches excepted."""
    found = []
    for directory, dirnames, filenames in os.walk(service.root):
        here = Path(directory)
        dirnames[:] = sorted(d for d in dirnames if not is_skipped_dir(here / d) and not is_service_dir(here / d))
        found += [(here / f).relative_to(service.root).as_posix() for f in sorted(filenames)]
    return found
