"""The mesh lab's services imported from their directories (they are not packages), and QOTM served in-process."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from werkzeug.serving import make_server

from tests.platform.base_images import ROOT
from tests.services import apps

USERSVC_DIR = ROOT / "usersvc"
EDS_DIR = ROOT / "eds"
POSTGRES_DIR = ROOT / "postgres"
JAEGER_DIR = ROOT / "jaeger"


def usersvc() -> ModuleType:
    """usersvc.py, with its sibling modules (store, quotes) importable the way the image's WORKDIR makes them."""
    if str(USERSVC_DIR) not in sys.path:
        sys.path.insert(0, str(USERSVC_DIR))
    return apps.load(USERSVC_DIR / "usersvc.py", "usersvc")


@contextmanager
def qotm_server() -> Iterator[str]:
    """The real QOTM app on a free 127.0.0.1 port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, apps.qotm().app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join(5)


def eds_module(name: str) -> ModuleType:
    """One of eds/'s modules (eds, eds_translate, eds_watch), importable by their plain names as in the image."""
    if str(EDS_DIR) not in sys.path:
        sys.path.insert(0, str(EDS_DIR))
    return apps.load(EDS_DIR / f"{name}.py", name)
