"""Stuck diagnosis: what differs between a seat's objects and a step's solve, changing nothing.

The step's solve (its ```solve``` script, from the exercise pages) runs in a sandbox: a scratch copy of the
instructor's workspace (the solve may edit files there, never in the checkout), a kubeconfig whose context is the
seat's namespace, and `kubectl`/`forge` stand-ins (classroom/dryrun.py) that turn every change into a server-side
dry run against the seat. Each object the solve would change is then compared with the seat's live object: a
unified diff of the two, with what the server manages (status, resourceVersion, managedFields...) left out, the
version forge computes from the sources masked on both sides (the instructor's checkout is not the participant's:
image tags and version labels differ for that reason alone) and Secret values never shown.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from classroom import dryrun, sizes
from classroom.errors import ClassError
from classroom.seat import PULL_SECRET

SOLVE_TIMEOUT = 120.0
# Top-level entries of the instructor's checkout the sandbox does not copy: not what a solve reads or edits.
NOT_COPIED = {".git", ".venv", "node_modules", "build", "tests", "slides", "shopbox", "shopbox_setup", "forge",
              "classroom", "docs", "__pycache__"}
SERVER_FIELDS = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")
SERVER_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision")
VERSION_LABEL = "app.kubernetes.io/version"
MASK = "<version>"


class ObjectReader(Protocol):
    """Reads one object of the seat (classroom.api.ClassAPI has this method)."""

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None: ...


@dataclass
class ObjectDiff:
    """One object the solve would change: `diff` (unified, live -> solve), or created/deleted."""

    kind: str
    name: str
    change: str  # "differs", "missing" (the solve creates it), "extra" (the solve deletes it)
    diff: str = ""

    @property
    def ident(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass
class Diagnosis:
    step: str
    namespace: str
    objects: list[ObjectDiff] = field(default_factory=list)
    same: list[str] = field(default_factory=list)  # objects the solve sets that are as the solve sets them
    errors: list[str] = field(default_factory=list)  # lines whose dry run the server refused, with why
    skipped: list[str] = field(default_factory=list)  # lines not dry-run, with why

    def text(self) -> str:
        lines = [f"step {self.step} in namespace {self.namespace}: "
                 + (f"{len(self.objects)} objects differ from the solve" if self.objects else
                    "the seat's objects are as the step's solve leaves them")]
        for found in self.objects:
            lines.append(f"{found.ident}: " + {"differs": "differs", "missing": "missing (the solve creates it)",
                                               "extra": "there (the solve deletes it)"}[found.change])
            lines.extend(f"  {line}" for line in found.diff.splitlines())
        lines.extend(f"as the solve sets it: {name}" for name in self.same)
        lines.extend(f"refused in the dry run: {line}" for line in self.errors)
        lines.extend(f"not dry-run: {line}" for line in self.skipped)
        return "\n".join(lines)


def _strip(obj: dict[str, Any]) -> dict[str, Any]:
    """An object as a participant would compare it: without what the server manages, Secret values hidden."""
    found = copy.deepcopy(obj)
    found.pop("status", None)
    meta = found.get("metadata") or {}
    for key in SERVER_FIELDS:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    for key in SERVER_ANNOTATIONS:
        annotations.pop(key, None)
    if not annotations:
        meta.pop("annotations", None)
    if found.get("kind") == "Pod":
        (found.get("spec") or {}).pop("nodeName", None)  # the scheduler's choice, not the participant's
    if found.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if isinstance(found.get(key), dict):
                found[key] = {name: "<hidden>" for name in found[key]}
    return found


def _versions(obj: dict[str, Any]) -> set[str]:
    """The forge versions an object carries (its and its pod template's version label)."""
    found = set()
    for meta in (obj.get("metadata") or {}, ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}):
        value = (meta.get("labels") or {}).get(VERSION_LABEL)
        if value:
            found.add(str(value))
    return found


def _masked(obj: dict[str, Any]) -> str:
    text = yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)
    for version in sorted(_versions(obj), key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(version)}(?![\w-])", MASK, text)
    return text


def object_diff(live: dict[str, Any] | None, after: dict[str, Any] | None) -> ObjectDiff | None:
    """The difference between the live object and the one the solve leaves (None: they are the same)."""
    some = after or live or {}
    kind, name = str(some.get("kind", "?")), str((some.get("metadata") or {}).get("name", "?"))
    if live is None and after is not None:
        return ObjectDiff(kind, name, "missing", "".join(f"+{line}\n" for line in _masked(_strip(after)).splitlines()))
    if after is None:
        return ObjectDiff(kind, name, "extra") if live is not None else None
    before_text, after_text = _masked(_strip(live)), _masked(_strip(after))
    if before_text == after_text:
        return None
    diff = difflib.unified_diff(before_text.splitlines(), after_text.splitlines(), "seat", "solve", lineterm="",
                                n=3)
    return ObjectDiff(kind, name, "differs", "\n".join(diff) + "\n")


def _named(ident: str) -> tuple[str, str]:
    """`deployment.apps/qotm` -> ("deployment.apps", "qotm")."""
    resource, _, name = ident.partition("/")
    return resource, name


def compare(captures: Sequence[dict[str, Any]], reader: ObjectReader, namespace: str, step: str,
            resolve: dict[str, tuple[str, str]] | None = None) -> Diagnosis:
    """The diagnosis from the stand-ins' capture lines. `resolve`: a `kubectl -o name` resource (`deployment.apps`)
    -> (apiVersion, kind), for the objects a solve deletes."""
    found = Diagnosis(step, namespace)
    after: dict[tuple[str, str, str], dict[str, Any] | None] = {}  # (apiVersion, kind, name), last word wins
    for entry in captures:
        if "skipped" in entry:
            found.skipped.append(f"{entry['line']} ({entry['skipped']})")
        elif "error" in entry:
            found.errors.append(f"{entry['line']}: {entry['error']}")
        for obj in entry.get("objects") or []:
            after[(obj["apiVersion"], obj["kind"], obj["metadata"]["name"])] = obj
        for ident in entry.get("deleted") or []:
            resource, name = _named(ident)
            api_version, kind = (resolve or {}).get(resource, ("", resource))
            after[(api_version, kind, name)] = None
    for (api_version, kind, name), obj in after.items():
        live = reader.get(api_version, kind, namespace, name) if api_version else {"kind": kind, "metadata": {
            "name": name}}
        change = object_diff(live, obj)
        if change is None:
            if obj is not None:
                found.same.append(f"{kind} {name}")
            continue
        found.objects.append(change)
    return found


# kubectl -o name's resources for the kinds solves delete (pods, forge's kinds).
RESOURCES = {
    "pod": ("v1", "Pod"), "service": ("v1", "Service"), "configmap": ("v1", "ConfigMap"), "secret": ("v1", "Secret"),
    "serviceaccount": ("v1", "ServiceAccount"), "persistentvolumeclaim": ("v1", "PersistentVolumeClaim"),
    "deployment.apps": ("apps/v1", "Deployment"), "statefulset.apps": ("apps/v1", "StatefulSet"),
    "role.rbac.authorization.k8s.io": ("rbac.authorization.k8s.io/v1", "Role"),
    "rolebinding.rbac.authorization.k8s.io": ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    "networkpolicy.networking.k8s.io": ("networking.k8s.io/v1", "NetworkPolicy"),
    "poddisruptionbudget.policy": ("policy/v1", "PodDisruptionBudget"),
}


@dataclass(frozen=True)
class Seat:
    """Where the solve is dry-run: the seat's namespace and registry (the solve's $REGISTRY and forge's)."""

    namespace: str
    registry: str


def _copy_workspace(root: Path, into: Path) -> None:
    def ignore(directory: str, names: list[str]) -> set[str]:
        top = Path(directory) == root
        return {n for n in names if (top and (n in NOT_COPIED or n.startswith("class-"))) or n == "__pycache__"}

    shutil.copytree(root, into, ignore=ignore, symlinks=True)


def _git(workspace: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=shopbox", "-c", "user.email=shopbox@localhost", *args], cwd=workspace,
                   capture_output=True, check=False, timeout=60)


def _forge_yaml(workspace: Path, seat: Seat) -> None:
    """forge.yaml in the copy as `forge setup` writes it in the seat's joined shell (forge/verbs/setup.py: _fit):
    the seat's registry and namespace, NodePort Services rendered as ClusterIP (the seat's quota admits none: with
    the instructor's NodePorts every Service's dry run was refused) and the seat's pull Secret."""
    path = workspace / "forge.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    data = data if isinstance(data, dict) else {}
    data.update({"registry": seat.registry, "namespace": seat.namespace,
                 "node_ports": sizes.QUOTA["services.nodeports"] != "0", "image_pull_secrets": [PULL_SECRET]})
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _kubeconfig(seat: Seat, into: Path, environ: dict[str, str]) -> Path:
    """The instructor's current context, flattened, with the seat's namespace."""
    done = subprocess.run(["kubectl", "config", "view", "--minify", "--flatten", "--raw", "-o", "json"],
                          capture_output=True, text=True, env=environ, check=False, timeout=30)
    if done.returncode != 0:
        raise ClassError(f"kubectl config view: {done.stderr.strip() or done.stdout.strip()}")
    config = json.loads(done.stdout)
    for context in config.get("contexts") or []:
        context.setdefault("context", {})["namespace"] = seat.namespace
    path = into / "kubeconfig"
    path.write_text(json.dumps(config), encoding="utf-8")
    path.chmod(0o600)
    return path


def _stand_ins(into: Path) -> Path:
    bin_dir = into / "bin"
    bin_dir.mkdir()
    for tool in dryrun.TOOLS:
        stand_in = bin_dir / tool
        stand_in.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m classroom.dryrun {tool} "$@"\n')
        stand_in.chmod(0o755)
    return bin_dir


@contextmanager
def sandbox(root: Path, seat: Seat, environ: dict[str, str] | None = None,
            copy: bool = True) -> Iterator[tuple[Path, dict[str, str]]]:
    """A scratch workspace (a git repository, so that `git diff` in a solve works; an empty directory without
    `copy`) and the environment a script runs in there: the stand-ins first on PATH, the seat's kubeconfig,
    registry and namespace. Removed after."""
    environ = dict(os.environ if environ is None else environ)
    with tempfile.TemporaryDirectory(prefix="shopbox-diagnose-") as scratch:
        scratch_dir = Path(scratch)
        workspace = scratch_dir / "workspace"
        if copy:
            _copy_workspace(root, workspace)
            _git(workspace, "init", "-q")
            _git(workspace, "add", "-A")
            _git(workspace, "commit", "-qm", "the instructor's workspace")
            _forge_yaml(workspace, seat)
        else:
            workspace.mkdir()
        capture = scratch_dir / "capture.jsonl"
        capture.touch()
        package_root = str(Path(__file__).resolve().parents[1])
        env = {**environ,
               "KUBECONFIG": str(_kubeconfig(seat, scratch_dir, environ)),
               "PATH": f"{_stand_ins(scratch_dir)}:{environ.get('PATH', '')}",
               "PYTHONPATH": os.pathsep.join(p for p in (package_root, environ.get("PYTHONPATH", "")) if p),
               "REGISTRY": seat.registry,
               dryrun.CAPTURE: str(capture), dryrun.NAMESPACE: seat.namespace,
               dryrun.REAL_PATH: environ.get("PATH", "")}
        env.pop("SHOPBOX_SEAT", None)  # lab inside a solve records nothing
        yield workspace, env


def dry_run_solve(script: str, workspace: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """Run a solve in the sandbox; the stand-ins' capture lines."""
    capture = Path(env[dryrun.CAPTURE])
    try:
        done = subprocess.run(["bash", "-c", "set -uo pipefail\n" + script], cwd=workspace, env=env,
                              capture_output=True, text=True, timeout=SOLVE_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise ClassError(f"the solve's dry run did not finish within {SOLVE_TIMEOUT:.0f} s") from None
    entries = [json.loads(line) for line in capture.read_text(encoding="utf-8").splitlines() if line.strip()]
    if done.returncode != 0 and not entries:
        last = (done.stderr or done.stdout).strip().splitlines()
        raise ClassError(f"the solve's dry run failed (exit {done.returncode}): {last[-1] if last else 'no output'}")
    return entries


def diagnose(root: Path, script: str, step: str, seat: Seat, reader: ObjectReader,
             environ: dict[str, str] | None = None) -> Diagnosis:
    """What the step's solve would change in the seat, against the seat's live objects."""
    with sandbox(root, seat, environ) as (workspace, env):
        captures = dry_run_solve(script, workspace, env)
    return compare(captures, reader, seat.namespace, step, RESOURCES)
