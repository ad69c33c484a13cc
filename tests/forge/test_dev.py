"""`forge dev`'s watcher and loop bookkeeping, without a cluster (the loop against a real API server, Docker
engine and registry is in tests/forge/test_deploy_cluster.py)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from forge.cluster.apply import Applied
from forge.plan import plan
from forge.verbs.deploy import DeployRequest
from forge.verbs.dev import DevLoop, changes, snapshot, wait_for_change, watch_roots
from tests.forge.conftest import write_tree
from tests.forge.fakes import recording

pytestmark = pytest.mark.unit


def applied(workspace: Path, service: str, **kwargs: object) -> Applied:
    (build,) = [b for b in plan(workspace, **kwargs) if b.service.name == service]  # type: ignore[arg-type]
    return Applied(build, [], [])


def test_roots_are_the_path_its_service_and_outside_contexts(sample_workspace: Path) -> None:
    assert watch_roots(sample_workspace / "web" / "app", []) == [sample_workspace / "web"]
    assert watch_roots(sample_workspace, []) == [sample_workspace]
    write_tree(sample_workspace, {"shared/lib.py": "x = 1\n", "web/service.yaml":
                                  "containers: [{dockerfile: Dockerfile, context: ../shared}]\n"})
    assert watch_roots(sample_workspace / "web", [applied(sample_workspace, "web")]) == [
        sample_workspace / "web", sample_workspace / "shared"]


def test_snapshot_sees_edits_additions_and_removals_but_not_caches(sample_workspace: Path) -> None:
    roots = [sample_workspace / "web"]
    before = snapshot(roots)
    write_tree(sample_workspace, {"web/app/__pycache__/main.cpython-311.pyc": "x", "web/.main.py.swp": "x",
                                  "web/.venv/pyvenv.cfg": "home = /usr\n"})
    assert changes(before, snapshot(roots)) == []
    (sample_workspace / "web" / "app" / "main.py").write_text("print('changed')\n")
    (sample_workspace / "web" / "app" / "new.py").write_text("")
    (sample_workspace / "web" / "conf.yaml.j2").unlink()
    assert changes(before, snapshot(roots)) == sorted(
        str(sample_workspace / "web" / p) for p in ("app/main.py", "app/new.py", "conf.yaml.j2"))


def test_wait_for_change_returns_the_settled_change_or_nothing_on_stop(sample_workspace: Path) -> None:
    roots = [sample_workspace / "web"]
    before = snapshot(roots)
    target = sample_workspace / "web" / "app" / "main.py"

    def edit() -> None:
        time.sleep(0.3)
        target.write_text("print('one')\n")
        time.sleep(0.1)
        (target.parent / "other.py").write_text("")  # the same save, a moment later

    threading.Thread(target=edit).start()
    assert wait_for_change(roots, before, 0.1, threading.Event()) == [str(target.parent / "main.py"),
                                                                     str(target.parent / "other.py")]
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    assert wait_for_change(roots, snapshot(roots), 0.1, stop) == []


def test_a_failed_round_is_reported_and_the_loop_goes_on(sample_workspace: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Round 1 deploys, round 2 fails (a bad template), round 3 deploys again: the loop survives the failure."""
    rounds = iter(["ok", "broken", "ok"])
    web = applied(sample_workspace, "web", canary=True)

    def fake_deploy(request: DeployRequest, ctx: object) -> list[Applied]:
        if next(rounds) == "broken":
            from forge.errors import ForgeError
            raise ForgeError("web/k8s/deployment.yaml:6: 'dict object' has no attribute 'replicaz'")
        return [web]

    monkeypatch.setattr("forge.verbs.dev.deploy", fake_deploy)
    monkeypatch.setattr(DevLoop, "_follow_logs", lambda self: None)
    run = recording()
    said, errors = run.stdout.lines, run.stderr.lines
    loop = DevLoop(DeployRequest(path=sample_workspace / "web"), run.ctx, interval=0.1)
    main_py = sample_workspace / "web" / "app" / "main.py"

    def edits() -> None:
        for text in ("one", "two"):
            while not any(s.startswith("dev: watching") for s in said[-1:]):
                time.sleep(0.05)
            said.append("(edit)")
            main_py.write_text(f"print('{text}')\n")
            os.utime(main_py, ns=(time.time_ns(), time.time_ns()))

    editor = threading.Thread(target=edits)
    editor.start()
    loop.run(threading.Event(), max_deploys=3)
    editor.join(10)
    assert errors == ["error: web/k8s/deployment.yaml:6: 'dict object' has no attribute 'replicaz'"]
    assert [s for s in said if s.startswith("dev: web-canary ready")][-1].endswith("after the change")
    assert loop.farewell() == ["left web-canary deployed in namespace shop; remove it with: forge delete web "
                               "--canary -n shop"]


def test_ctrl_c_during_a_deploy_says_it_may_be_partly_applied(sample_workspace: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(request: DeployRequest, ctx: object) -> list[Applied]:
        raise KeyboardInterrupt

    monkeypatch.setattr("forge.verbs.dev.deploy", interrupted)
    loop = DevLoop(DeployRequest(path=sample_workspace / "web"), recording().ctx)
    with pytest.raises(KeyboardInterrupt):
        loop.run(threading.Event())
    assert loop.farewell() == ["stopped during a deploy: it may be partly applied (`forge list` shows what is "
                               "deployed)"]
