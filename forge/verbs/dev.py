"""`forge dev`: the inner loop. Deploy, follow the pods' logs, watch the sources; on a change deploy again, until
Ctrl-C, which leaves the deployment as it is.

"Rebuild only what changed" comes from the deploy itself: an image's tag is a hash of its build context, so an
image whose sources did not change is found in the registry and neither built nor pushed, and objects whose
rendering did not change are applied as `unchanged`. The watcher polls file metadata (no extra dependency, works
on every filesystem, including bind mounts from a Docker Desktop host).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from forge.cluster import ClusterAPI
from forge.cluster.apply import Applied
from forge.cluster.inventory import Inventory
from forge.cluster.logs import follow
from forge.config.discover import is_skipped_dir, select
from forge.config.workspace import display_path, load_workspace
from forge.context import Context
from forge.errors import ForgeError
from forge.verbs.deploy import DeployRequest, deploy

Snapshot = dict[str, tuple[int, int]]  # path -> (mtime_ns, size)
SETTLE_SECONDS = 0.3  # an editor's save can touch several files: wait until they stop changing


def watch_roots(path: Path, results: Sequence[Applied]) -> list[Path]:
    """What to watch: PATH (its service directory when PATH is below one) and every build context of the
    deployed images that lies outside it."""
    here = Path(os.path.abspath(path))
    here = here if here.is_dir() else here.parent
    roots = [select(here, load_workspace(here).root).start]
    for result in results:
        for image in result.build.images.values():
            context = Path(image.container.context)
            if not any(context == r or r in context.parents for r in roots):
                roots.append(context)
    return roots


def snapshot(roots: Sequence[Path]) -> Snapshot:
    """(mtime, size) of every file under the roots; hidden files, caches and virtualenvs are left out."""
    found: Snapshot = {}
    for root in roots:
        for directory, dirnames, filenames in os.walk(root):
            here = Path(directory)
            dirnames[:] = [d for d in dirnames if not is_skipped_dir(here / d)]
            for name in filenames:
                if name.startswith(".") and name != ".dockerignore":
                    continue
                path = os.path.join(directory, name)
                try:
                    info = os.stat(path)
                except OSError:
                    continue  # gone meanwhile, or unreadable: the next snapshot sees what is there
                found[path] = (info.st_mtime_ns, info.st_size)
    return found


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """Paths added, removed or modified, sorted."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def wait_for_change(roots: Sequence[Path], before: Snapshot, interval: float, stop: threading.Event) -> list[str]:
    """Poll until something under the roots changed and settled; [] when `stop` was set first."""
    while not stop.wait(interval):
        now = snapshot(roots)
        if changes(before, now):
            while not stop.wait(SETTLE_SECONDS):
                settled = snapshot(roots)
                if settled == now:
                    return changes(before, now)
                now = settled
    return []


@dataclass(frozen=True)
class DevRequest:
    deploy: DeployRequest
    interval: float = 1.0  # seconds between looks at the files
    max_deploys: int | None = None  # stop after N deploys (scripts, tests); None: until Ctrl-C


@dataclass
class DevLoop:
    """One `forge dev` session: deploys, log followers, the builds left deployed."""

    request: DeployRequest
    ctx: Context
    interval: float = 1.0
    tail: int = 20
    deployed: list[Applied] = field(default_factory=list)
    deploying: bool = False  # a deploy is running (Ctrl-C now may leave it partly applied)
    _logs_stop: threading.Event = field(default_factory=threading.Event)

    def run(self, stop: threading.Event, max_deploys: int | None = None) -> None:
        """Deploy, then again on every change, until `stop` is set or after `max_deploys` deploys."""
        count, changed_at = 0, None
        while not stop.is_set():
            roots = watch_roots(self.request.path, self.deployed)
            before = snapshot(roots)
            started = time.monotonic()
            try:
                self.deploying = True
                self.deployed = deploy(self.request, self.ctx)
                self.deploying = False
                took = time.monotonic() - (changed_at or started)
                since = "after the change" if changed_at else "after the start"
                self.ctx.out.info(f"dev: {', '.join(r.build.name for r in self.deployed)} ready {took:.1f} s {since}")
            except ForgeError as exc:
                self.deploying = False
                self.ctx.out.error(exc)
                self.ctx.out.info("dev: fix it and save; forge deploys again")
            count += 1
            if max_deploys is not None and count >= max_deploys:
                break
            self._follow_logs()
            shown = ", ".join(display_path(r) for r in roots)
            self.ctx.out.info(f"dev: watching {shown} (Ctrl-C stops and leaves the deployment)")
            changed = wait_for_change(roots, before, self.interval, stop)
            self._logs_stop.set()
            if changed:
                changed_at = time.monotonic()
                more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
                shown = ", ".join(display_path(Path(p)) for p in changed[:3])
                self.ctx.out.info(f"dev: changed {shown}{more}; deploying")

    def _follow_logs(self) -> None:
        """Stream the deployed builds' pod logs in the background until the next change."""
        self._logs_stop = threading.Event()
        if not self.deployed:
            return
        cluster = self.ctx.cluster(load_workspace(self.request.path))
        for result in self.deployed:
            inv = Inventory.of(result.build, [])
            threading.Thread(target=self._logs, args=(cluster, inv, self._logs_stop), daemon=True).start()

    def _logs(self, cluster: ClusterAPI, inv: Inventory, stop: threading.Event) -> None:
        try:
            follow(cluster, inv, self.ctx.out, tail=self.tail, stop=stop)
        except ForgeError as exc:
            self.ctx.out.note(f"no logs for {inv.build_name}: {exc}")

    def farewell(self) -> list[str]:
        """What is left deployed and how to remove it."""
        self._logs_stop.set()
        lines = ["stopped during a deploy: it may be partly applied (`forge list` shows what is deployed)"
                 ] if self.deploying else []
        for result in self.deployed:
            profile = "" if result.build.profile == "default" else (
                " --canary" if result.build.canary else f" --profile {result.build.profile}")
            lines.append(f"left {result.build.name} deployed in namespace {result.build.namespace}; remove it with: "
                         f"forge delete {result.build.service.name}{profile} -n {result.build.namespace}")
        return lines


def dev(req: DevRequest, ctx: Context) -> None:
    """`forge dev`: the loop until Ctrl-C (or `max_deploys` deploys), then what is left deployed (on stderr)."""
    loop = DevLoop(req.deploy, ctx, interval=req.interval)
    stop = threading.Event()

    def interrupt(*_: object) -> None:
        # Ctrl-C while watching sets `stop` (the loop returns within its poll interval): a KeyboardInterrupt raised
        # inside stop.wait() could leave the Event's lock held and hang stop.set(). A deploy is interrupted at once.
        stop.set()
        if loop.deploying:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        loop.run(stop, req.max_deploys)
    except KeyboardInterrupt:
        stop.set()
    finally:
        signal.signal(signal.SIGINT, previous)
    if stop.is_set():
        ctx.out.aside("dev: stopped")
    for line in loop.farewell():
        ctx.out.aside(line)
