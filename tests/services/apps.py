"""Where the services live, and their app modules imported straight from those directories."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.platform.base_images import ROOT

QOTM_DIR = ROOT / "qotm"
AUTH_DIR = ROOT / "envoy-canary" / "auth"


def load(path: Path, name: str) -> ModuleType:
    """Import `path` once as module `name` (the directories are not packages; the app keeps its metrics
    in the process-wide Prometheus registry, so it must not be imported twice)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def qotm() -> ModuleType:
    return load(QOTM_DIR / "qotm.py", "qotm_app")


def auth() -> ModuleType:
    return load(AUTH_DIR / "auth.py", "auth_app")
