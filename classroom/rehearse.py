"""`class rehearse --seats N`: N synthetic seats through the solves of pages 3-9 at the same time on the class's
cluster, measured; then the sizes for the real class.

A rehearsal class (`rehearsal`, made and taken down by `class up`/`class down`'s own code) gets N seats; each seat
gets a copy of the workspace (a git repository, as a participant's clone is) and runs, in the joined shell exactly
as a participant's (`./shopbox.sh join FILE run -- ...`, its own edge and Prometheus ports on this machine), `lab
solve P` for each page P in turn, every seat at the same time. Meanwhile a sampler reads every seat's namespace every
few seconds: its pods' CPU and memory requests and memory limits (what the scheduler and the quota count), what they
use (the metrics API, when the cluster serves it), pods, claims and their storage. At the end each seat's image
pulls are counted from its events (`Pulling`). The report: per seat and in total, the peaks, pulls, time per page and
failures; the seat quota these numbers give (sizing.quota, written to class-sizes.yaml for `class up --sizes`); and
the nodes a class of `--class-size` seats needs on the common node shapes (sizing.recommend).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from classroom import sizes, sizing
from classroom.api import ClassAPI
from classroom.errors import ClassError, UsageError
from classroom.names import seat_namespace
from classroom.sizing import MI, SeatPeak

CLASS = "rehearsal"
PAGES = tuple(range(3, 10))
MARK = "@@rehearse"
NOT_COPIED = {".git", ".venv", "node_modules", "build", "__pycache__", ".pytest_cache", ".ruff_cache", ".cache"}
Say = Callable[[str], None]


def parse_pages(text: str) -> tuple[int, ...]:
    """`3-9`, `3,4,5` or `5`: pages of the class (3 and later: pages 1-2 stay on the participant's machine)."""
    found: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)(?:-(\d+))?\s*", part)
        if not match:
            raise UsageError(f"--pages {text!r}: expected pages like 3-9 or 3,4,5")
        found.extend(range(int(match[1]), int(match[2] or match[1]) + 1))
    if not found or min(found) < 3:
        raise UsageError(f"--pages {text!r}: the class's pages start at 3 (1-2 stay on the participant's machine)")
    return tuple(sorted(set(found)))


@dataclass
class PageRun:
    page: int
    seconds: float
    ok: bool


@dataclass
class SeatRun:
    seat: str
    pages: list[PageRun] = field(default_factory=list)
    error: str = ""  # the seat's run itself failed (its last output line)
    peak: SeatPeak = field(default_factory=SeatPeak)
    pulls: int = 0

    @property
    def failures(self) -> list[str]:
        found = [f"page {p.page}" for p in self.pages if not p.ok]
        return found + ([self.error] if self.error else [])


class SeatRunner(Protocol):
    def __call__(self, seat: str, join: Path, pages: Sequence[int], log: Path) -> list[PageRun]:
        """Run the solves of `pages` in the seat (its join file `join`), output to `log`; each page's result.
        ClassError when the seat's run cannot start or ends early."""
        ...


def script(pages: Sequence[int], rc: str = "") -> str:
    """What the joined shell runs: each page's solve, marked with its start and end; with `rc` (a file of the
    workspace, relative to it) every bash of the solves sources it first (BASH_ENV)."""
    lines = [f'export BASH_ENV="$PWD"/{shlex.quote(rc)}'] if rc else []
    for page in pages:
        lines.append(f'echo "{MARK} {page} start $(date +%s.%N)"')
        lines.append(f'if lab solve {page}; then r=ok; else r=failed; fi; echo "{MARK} {page} $r $(date +%s.%N)"')
    return "\n".join(lines)


def page_runs(output: str) -> list[PageRun]:
    """The page results from the script's marks."""
    started: dict[int, float] = {}
    found = []
    for match in re.finditer(rf"^{MARK} (\d+) (start|ok|failed) ([\d.]+)$", output, re.M):
        page, what, at = int(match[1]), match[2], float(match[3])
        if what == "start":
            started[page] = at
        elif page in started:
            found.append(PageRun(page, at - started[page], what == "ok"))
    return found


def copy_workspace(root: Path, into: Path) -> None:
    """The workshop's files as a participant's clone holds them (a git repository: pages check `git diff`)."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        top = Path(directory) == root
        return {n for n in names if n in NOT_COPIED or (top and n.startswith("class-"))}

    shutil.copytree(root, into, ignore=ignore, symlinks=True)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "workspace"]):
        subprocess.run(["git", "-c", "user.name=rehearsal", "-c", "user.email=rehearsal@localhost", *args],
                       cwd=into, capture_output=True, check=True, timeout=120)
    own_like(root, into)


def own_like(model: Path, path: Path) -> None:
    """`path` (and what is below it) owned as `model` is, when running as root (./shopbox.sh class runs as the
    instructor's uid, which is root on some machines): the joined shell then takes the workspace owner's uid
    (shopbox/entrypoint.sh) and can write the copy and read the join file. Nothing to do for another user."""
    if os.geteuid() != 0:
        return
    owner = model.stat()
    for found in (path, *(path.rglob("*") if path.is_dir() else ())):
        os.chown(found, owner.st_uid, owner.st_gid, follow_symlinks=False)


@dataclass
class JoinedShell:
    """The real SeatRunner: `./shopbox.sh join FILE run -- bash -c SCRIPT` from the seat's own copy of the
    workspace, with the seat's own host ports for the edge and Prometheus (`ports(seat)`)."""

    root: Path
    workdir: Path
    ports: Callable[[str], tuple[int, int]]
    environ: dict[str, str]
    rc: str = ""  # script()'s
    timeout: float = 3600.0
    _setting_up: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, seat: str, join: Path, pages: Sequence[int], log: Path) -> list[PageRun]:
        workspace = self.workdir / seat
        if workspace.exists():
            shutil.rmtree(workspace)
        copy_workspace(self.root, workspace)
        own_like(self.root, join)
        edge, prometheus = self.ports(seat)
        env = {**self.environ, "SHOPBOX_EDGE_PORT": str(edge), "SHOPBOX_PROMETHEUS_PORT": str(prometheus)}
        command = ["./shopbox.sh", "join", str(join.resolve()), "run", "--"]
        with log.open("w", encoding="utf-8") as out:
            try:
                # The seats' shells share this machine's local registry and network (pages 1-2), which the first
                # join makes: one seat sets up at a time (its forwarder too), then every seat runs its pages.
                with self._setting_up:
                    ready = subprocess.run([*command, "true"], cwd=workspace, env=env, stdout=out,
                                           stderr=subprocess.STDOUT, timeout=600, check=False)
                done = ready if ready.returncode else subprocess.run(
                    [*command, "bash", "-c", script(pages, self.rc)], cwd=workspace, env=env, stdout=out,
                    stderr=subprocess.STDOUT, timeout=self.timeout, check=False)
            except subprocess.TimeoutExpired as err:
                raise ClassError(f"seat {seat}: not done after {err.timeout:.0f} s (see {log})") from None
        output = log.read_text(encoding="utf-8", errors="replace")
        found = page_runs(output)
        if done.returncode != 0 and len(found) < len(pages):
            last = [line for line in output.splitlines() if line.strip() and not line.startswith(MARK)]
            raise ClassError(f"seat {seat}: the joined shell ended (exit {done.returncode}): "
                             f"{last[-1] if last else 'no output'} (see {log})")
        return found


class Sampler:
    """Reads every seat's namespace every `interval` seconds until stopped; keeps each seat's peaks and the
    class's total peak (the largest sum over seats of one round)."""

    def __init__(self, api: ClassAPI, klass: str, seats: Sequence[str], interval: float) -> None:
        self.api, self.klass, self.seats, self.interval = api, klass, list(seats), interval
        self.peaks = {seat: SeatPeak() for seat in seats}
        self.total = SeatPeak()
        self.metrics: bool | None = None  # None: not asked yet
        self.rounds = 0
        self._stop = threading.Event()

    def _used(self, namespace: str) -> tuple[float, int] | None:
        if self.metrics is False:
            return None
        try:
            items = self.api.list("metrics.k8s.io/v1beta1", "PodMetrics", namespace)
        except ClassError:
            self.metrics = False
            return None
        self.metrics = True
        containers = [c for item in items for c in item.get("containers") or []]
        return (sum(sizing.cpu_cores((c.get("usage") or {}).get("cpu", "0")) for c in containers),
                sum(sizing.memory_bytes((c.get("usage") or {}).get("memory", "0")) for c in containers))

    def sample(self, seat: str) -> SeatPeak:
        namespace = seat_namespace(self.klass, seat)
        pods = [p for p in self.api.list("v1", "Pod", namespace)
                if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        found = SeatPeak(pods=len(pods))
        for pod in pods:
            for container in (pod.get("spec") or {}).get("containers") or []:
                resources = container.get("resources") or {}
                found.cpu_requests += sizing.cpu_cores((resources.get("requests") or {}).get("cpu", "0"))
                found.memory_requests += sizing.memory_bytes((resources.get("requests") or {}).get("memory", "0"))
                found.memory_limits += sizing.memory_bytes((resources.get("limits") or {}).get("memory", "0"))
        claims = self.api.list("v1", "PersistentVolumeClaim", namespace)
        found.pvcs = len(claims)
        found.storage = sum(sizing.memory_bytes(((c.get("spec") or {}).get("resources") or {}).get("requests", {})
                                                .get("storage", "0")) for c in claims)
        used = self._used(namespace)
        if used is not None:
            found.cpu_used, found.memory_used = used
        return found

    def round(self) -> None:
        samples = {seat: self.sample(seat) for seat in self.seats}
        total = SeatPeak(cpu_used=0.0 if self.metrics else None, memory_used=0 if self.metrics else None)
        for seat, found in samples.items():
            self.peaks[seat].add_sample(found)
            for name in ("cpu_requests", "memory_requests", "memory_limits", "pods", "pvcs", "storage"):
                setattr(total, name, getattr(total, name) + getattr(found, name))
            if self.metrics:
                total.cpu_used = (total.cpu_used or 0) + (found.cpu_used or 0)
                total.memory_used = (total.memory_used or 0) + (found.memory_used or 0)
        self.total.add_sample(total)
        self.rounds += 1

    def run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            with contextlib.suppress(ClassError):  # one round missed (the API server busy): the next one counts
                self.round()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def stop(self) -> None:
        self._stop.set()


def pulls(api: ClassAPI, namespace: str) -> int:
    """Image pulls the kubelets started for the seat's pods (`Pulling` events; an image already on the node is
    not pulled)."""
    return sum(int(e.get("count") or 1) for e in api.list("v1", "Event", namespace) if e.get("reason") == "Pulling")


@dataclass
class Rehearsal:
    seats: list[SeatRun]
    total: SeatPeak
    metrics: bool
    seconds: float
    rounds: int


def rehearse(api: ClassAPI, seats: Sequence[str], joins: Path, run: SeatRunner, pages: Sequence[int],
             interval: float, logs: Path, say: Say, klass: str = CLASS) -> Rehearsal:
    """Every seat through `pages` at once, sampled meanwhile."""
    sampler = Sampler(api, klass, seats, interval)
    watcher = threading.Thread(target=sampler.run, daemon=True)
    watcher.start()
    started = time.monotonic()
    logs.mkdir(parents=True, exist_ok=True)

    def one(seat: str) -> SeatRun:
        found = SeatRun(seat)
        try:
            found.pages = run(seat, joins / f"{seat}.yaml", pages, logs / f"{seat}.log")
        except ClassError as err:
            found.error = str(err)
        say(f"seat {seat}: " + ", ".join(f"page {p.page} {'ok' if p.ok else 'FAILED'} in {p.seconds:.0f} s"
                                         for p in found.pages) + (f"; {found.error}" if found.error else ""))
        return found

    try:
        with ThreadPoolExecutor(max_workers=max(1, len(seats))) as pool:
            runs = list(pool.map(one, seats))
    finally:
        sampler.stop()
        watcher.join(timeout=interval + 60)
    sampler.round()  # the state at the end counts too
    for found in runs:
        found.peak = sampler.peaks[found.seat]
        found.pulls = pulls(api, seat_namespace(klass, found.seat))
    return Rehearsal(runs, sampler.total, bool(sampler.metrics), time.monotonic() - started, sampler.rounds)


def _peak_cells(peak: SeatPeak, metrics: bool) -> list[str]:
    used = [sizing.cores_text(peak.cpu_used or 0), sizing.memory_text(peak.memory_used or 0)] if metrics else []
    return [sizing.cores_text(peak.cpu_requests), sizing.memory_text(peak.memory_requests), *used,
            sizing.memory_text(peak.memory_limits), str(peak.pods), str(peak.pvcs), sizing.memory_text(peak.storage)]


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def report(found: Rehearsal, pages: Sequence[int], class_size: int) -> tuple[str, dict[str, Any]]:
    """The printed report and what class-sizes.yaml holds."""
    used = ["CPU USED", "MEM USED"] if found.metrics else []
    header = ["SEAT", "CPU REQ", "MEM REQ", *used, "MEM LIM", "PODS", "PVCS", "STORAGE", "PULLS",
              *[f"P{p}" for p in pages], "FAILURES"]
    rows = [header]
    for run in found.seats:
        times = {p.page: f"{p.seconds:.0f}s" + ("" if p.ok else "!") for p in run.pages}
        rows.append([run.seat, *_peak_cells(run.peak, found.metrics), str(run.pulls),
                     *[times.get(p, "-") for p in pages], str(len(run.failures))])
    rows.append(["TOTAL", *_peak_cells(found.total, found.metrics), str(sum(r.pulls for r in found.seats)),
                 *["" for _ in pages], str(sum(len(r.failures) for r in found.seats))])
    largest = sizing.largest([r.peak for r in found.seats])
    quota = sizing.quota(largest)
    registry = sizes.REGISTRY_RESOURCES["requests"]
    plan = sizing.recommend(largest, class_size, sizing.cpu_cores(registry["cpu"]),
                            sizing.memory_bytes(registry["memory"]), 1)
    source = "the metrics API" if found.metrics else "the pods' requests (the cluster serves no metrics)"
    lines = [f"rehearsal: {len(found.seats)} seats through pages {', '.join(map(str, pages))} at once in "
             f"{found.seconds:.0f} s; peaks from {source}, {found.rounds} samples", "", _table(rows), ""]
    failures = [f"  {r.seat}: {', '.join(r.failures)}" for r in found.seats if r.failures]
    if failures:
        lines += ["failures (the seat's log is in the rehearsal's directory):", *failures, ""]
    lines += ["seat quota from the largest seat (+50 %), for class up --sizes class-sizes.yaml:",
              "  " + ", ".join(f"{k}={v}" for k, v in quota.items()), "",
              f"a class of {class_size} seats (each seat's peak plus its registry pod): "
              f"{sizing.cores_text(plan.cpu)} CPU, {sizing.memory_text(plan.memory)} memory, {plan.pods} pods",
              _table([["NODE SHAPE", "LIKE", "NODES", "BOUND BY"]] +
                     [[p.shape.name, p.shape.examples, str(p.nodes), p.bound_by] for p in plan.plans])]
    assert plan.chosen is not None
    lines.append(f"recommended: {plan.chosen.nodes} nodes of {plan.chosen.shape.name} "
                 f"({plan.chosen.shape.examples})")
    measured = {"seats": len(found.seats), "pages": list(pages), "metrics": found.metrics,
                "peak": {"cpu": f"{round(largest.cpu * 1000)}m", "memory": f"{math.ceil(largest.memory / MI)}Mi",
                         "memory_limits": f"{math.ceil(largest.memory_limits / MI)}Mi", "pods": largest.pods,
                         "pvcs": largest.pvcs, "storage": f"{math.ceil(largest.storage / MI)}Mi"},
                "quota": quota,
                "recommended": {"class_size": class_size, "nodes": plan.chosen.nodes,
                                "shape": plan.chosen.shape.name}}
    return "\n".join(lines), measured


def write_sizes(path: Path, measured: dict[str, Any]) -> None:
    header = "# class rehearse's measurement: class up --sizes THIS-FILE sizes each seat's quota from it.\n"
    path.write_text(header + yaml.safe_dump(measured, sort_keys=False), encoding="utf-8")
