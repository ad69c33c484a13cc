"""The stand-ins for `kubectl` and `forge` (and the waits and requests) that a step's solve runs with when the
instructor asks what differs between a seat and that step's solve (classroom/diagnose.py). Nothing changes on the
cluster: every command that would change an object runs as a server-side dry run against the seat's namespace and
its result is captured; reads run as they are; waits, requests and commands inside pods are skipped and listed.

`python -m classroom.dryrun TOOL ARG...` is what each stand-in on the solve's PATH runs. It reads from the
environment: SHOPBOX_DRYRUN_CAPTURE (the JSON-lines file it appends to), SHOPBOX_DRYRUN_NAMESPACE (the seat's),
SHOPBOX_DRYRUN_PATH (the PATH the real kubectl and forge are found on). A stand-in always exits 0 after a change
it dry-ran or skipped, so that the rest of the solve runs too; its failures are captured, not raised.

With SHOPBOX_DRYRUN_READ_ONLY set, the stand-ins serve the instructor's cluster-side checks instead
(classroom/checks.py): reads and waits run, every other command is refused (exit 3), nothing is captured.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOOLS = ("kubectl", "forge", "curl", "hey", "sleep", "timeout", "docker", "lab")
CAPTURE = "SHOPBOX_DRYRUN_CAPTURE"
NAMESPACE = "SHOPBOX_DRYRUN_NAMESPACE"
REAL_PATH = "SHOPBOX_DRYRUN_PATH"
READ_ONLY = "SHOPBOX_DRYRUN_READ_ONLY"  # set: the instructor's read-only checks (reads run, the rest is refused)

# kubectl's verbs by what a dry run does with them.
KUBECTL_READ = {"get", "describe", "explain", "api-resources", "api-versions", "version", "config", "auth",
                "events", "top", "cluster-info"}
KUBECTL_CHANGE = {"apply", "create", "run", "expose", "scale", "set", "patch", "label", "annotate", "replace",
                  "autoscale"}
KUBECTL_IN_POD = {"exec", "attach", "cp", "port-forward", "proxy", "logs", "debug"}
KUBECTL_VALUE_FLAGS = {"-n", "--namespace", "--context", "--kubeconfig", "-l", "--selector", "-o", "--output",
                       "-f", "--filename", "-c", "--container", "--field-selector", "--type", "--as", "--cluster",
                       "--user", "-s", "--server", "--request-timeout", "--timeout", "--for"}
# What forge deploys into a namespace (forge delete's sweep, by label).
FORGE_KINDS = ("deployments.apps,statefulsets.apps,services,configmaps,secrets,serviceaccounts,"
               "roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,"
               "networkpolicies.networking.k8s.io,poddisruptionbudgets.policy,persistentvolumeclaims")
FORGE_VALUE_FLAGS = {"--context", "-n", "--namespace", "-p", "--profile", "--set", "--build-arg", "--branch",
                     "--timeout", "-o", "--output"}
FORGE_READ = {"list", "url", "render", "logs", "pods", "version", "--help", "-h", "--version"}
# forge options that deploy has and render has not (with a value: True).
FORGE_DEPLOY_ONLY = {"--dry-run": False, "--timeout": True, "--context": True, "-n": True, "--namespace": True,
                     "-v": False, "--verbose": False, "-q": False, "--quiet": False}  # value: takes one
NAME_LINE = re.compile(r"[a-z0-9.-]+/[a-z0-9.-]+")
SKIPPED = {
    "curl": "a request to a running service: no object changes",
    "hey": "load on a running service: no object changes",
    "sleep": "a wait",
    "timeout": "a wait for what running pods do",
    "docker": "builds or pushes an image on the participant's machine: not dry-run",
    "lab": "lab itself: not dry-run",
}


@dataclass(frozen=True)
class Action:
    """What the stand-in does with one command: `run` it as it is (a read), `dry` (run with a server-side dry
    run, capture the objects), `delete` (dry-run delete, capture the names), `skip` it (`why`), or `refuse` it
    (read-only checks)."""

    kind: str  # run | dry | delete | skip | refuse
    argv: tuple[str, ...] = ()  # for run/dry/delete: the real command
    why: str = ""
    stdin_manifests: tuple[str, ...] = ()  # dry: a command whose output is applied (forge render) first


def verb(args: Sequence[str], value_flags: set[str]) -> tuple[str, list[str]]:
    """The first word that is not an option (nor an option's value), and the words after it."""
    skip = False
    for index, word in enumerate(args):
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in value_flags
        else:
            return word, list(args[index + 1:])
    return "", []


def kubectl_action(args: Sequence[str], namespace: str) -> Action:
    name, rest = verb(args, KUBECTL_VALUE_FLAGS)
    ns = ("-n", namespace)
    if name in KUBECTL_READ or not name:
        return Action("run", ("kubectl", *args))
    if name == "wait" or (name == "rollout" and rest[:1] in (["status"], ["history"])):
        return Action("skip", why="a wait")
    if name in KUBECTL_IN_POD:
        return Action("skip", why=f"`kubectl {name}` works inside a pod or opens a connection: not dry-run")
    if name == "delete":
        return Action("delete", ("kubectl", *args, *ns, "--dry-run=server", "-o", "name"))
    if name in KUBECTL_CHANGE or name == "rollout":
        return Action("dry", ("kubectl", *args, *ns, "--dry-run=server", "-o", "json"))
    return Action("skip", why=f"`kubectl {name}`: not known to change an object of the seat")


def _forge_profile(rest: Sequence[str], environ: dict[str, str]) -> str:
    for index, word in enumerate(rest):
        if word in ("-p", "--profile") and index + 1 < len(rest):
            return rest[index + 1]
        if word.startswith("--profile="):
            return word.split("=", 1)[1]
    if environ.get("FORGE_PROFILE"):
        return environ["FORGE_PROFILE"]
    canary = "--canary" in rest or environ.get("CANARY", "").lower() in ("1", "true", "yes")
    return "canary" if canary else "default"


def _forge_selector(services: Sequence[str], profile: str) -> str:
    names = services[0] if len(services) == 1 else f"in ({','.join(services)})"
    name = f"app.kubernetes.io/name={names}" if len(services) == 1 else f"app.kubernetes.io/name {names}"
    return f"app.kubernetes.io/managed-by=forge,{name},forge.shopbox.io/profile={profile}"


def _operands(words: Sequence[str]) -> list[str]:
    """The words that are not options or their values (forge's SERVICE... and PATH...)."""
    found, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in FORGE_VALUE_FLAGS
        else:
            found.append(word)
    return found


def forge_action(args: Sequence[str], namespace: str, environ: dict[str, str]) -> Action:
    name, rest = verb(args, FORGE_VALUE_FLAGS)
    before = list(args[:len(args) - len(rest) - 1]) if name else []  # options before the command (forge -p X ...)
    ns = ("-n", namespace)
    if name in FORGE_READ or not name:
        return Action("run", ("forge", *args))
    if name == "deploy":
        render: list[str] = []
        skip = False
        for word in [*before, *rest]:
            if skip:
                skip = False
                continue
            option = word.split("=", 1)[0]
            if option in FORGE_DEPLOY_ONLY:
                skip = FORGE_DEPLOY_ONLY[option] and "=" not in word
                continue
            render.append(word)
        return Action("dry", ("kubectl", "apply", "--server-side", "--field-manager=forge", "--force-conflicts",
                              *ns, "--dry-run=server", "-o", "json", "-f", "-"),
                      stdin_manifests=("forge", "render", *render, *ns))
    if name == "delete" and _operands(rest):
        return Action("delete", ("kubectl", "delete", FORGE_KINDS, *ns, "-l",
                                 _forge_selector(_operands(rest), _forge_profile([*before, *rest], environ)),
                                 "--dry-run=server", "-o", "name"))
    if name == "canary" and rest[:1] == ["abort"] and _operands(rest[1:]):
        return Action("delete", ("kubectl", "delete", FORGE_KINDS, *ns, "-l",
                                 _forge_selector(_operands(rest[1:]), "canary"), "--dry-run=server", "-o", "name"))
    return Action("skip", why=f"`forge {name}`: not dry-run (it builds, pushes or writes files)")


def read_only_action(tool: str, args: Sequence[str]) -> Action:
    """For the instructor's cluster-side checks: reads and waits run, anything else is refused."""
    if tool == "kubectl":
        name, rest = verb(args, KUBECTL_VALUE_FLAGS)
        if name in KUBECTL_READ or name == "wait" or (name == "rollout" and rest[:1] in (["status"], ["history"])):
            return Action("run", ("kubectl", *args))
    if tool == "forge" and verb(args, FORGE_VALUE_FLAGS)[0] == "list":
        return Action("run", ("forge", *args))
    return Action("refuse", why=f"`{shlex.join([tool, *args[:2]])}`: the instructor's checks are read-only")


def action(tool: str, args: Sequence[str], environ: dict[str, str]) -> Action:
    namespace = environ.get(NAMESPACE, "")
    if environ.get(READ_ONLY):
        return read_only_action(tool, args)
    if tool == "kubectl":
        return kubectl_action(args, namespace)
    if tool == "forge":
        return forge_action(args, namespace, environ)
    return Action("skip", why=SKIPPED.get(tool, "not dry-run"))


def _objects(text: str) -> list[dict[str, Any]]:
    """The objects of kubectl's -o json: one object, or a List of them."""
    found = json.loads(text) if text.strip() else None
    if not isinstance(found, dict):
        return []
    if found.get("kind") == "List" or (found.get("kind", "").endswith("List") and "items" in found):
        return [item for item in found.get("items") or [] if isinstance(item, dict)]
    return [found]


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no output")


def perform(found: Action, line: str, environ: dict[str, str], stdin: str | None) -> tuple[dict[str, Any], int]:
    """Run the action; the capture entry and the exit status the stand-in gives the solve."""
    path = environ.get(REAL_PATH, "")

    def real(argv: Sequence[str], given: str | None) -> subprocess.CompletedProcess[str]:
        program = shutil.which(argv[0], path=path) or argv[0]
        return subprocess.run([program, *argv[1:]], input=given, text=True, capture_output=True, check=False,
                              timeout=120)

    entry: dict[str, Any] = {"line": line}
    if found.kind == "skip":
        entry["skipped"] = found.why
        return entry, 0
    given = stdin
    if found.stdin_manifests:
        rendered = real(found.stdin_manifests, None)
        if rendered.returncode != 0:
            entry["error"] = _first_line(rendered.stderr or rendered.stdout)
            return entry, 0
        given = rendered.stdout
    done = real(found.argv, given)
    if done.returncode != 0:
        entry["error"] = _first_line(done.stderr or done.stdout)
    elif found.kind == "delete":
        # `-o name` lines (kind.group/name); "No resources found" when a selector matches nothing
        entry["deleted"] = [line.strip() for line in done.stdout.splitlines() if NAME_LINE.fullmatch(line.strip())]
    else:
        try:
            entry["objects"] = _objects(done.stdout)
        except ValueError:
            entry["error"] = f"not JSON from {' '.join(found.argv[:2])}"
    return entry, 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m classroom.dryrun TOOL [ARG...]", file=sys.stderr)
        return 2
    tool, rest = Path(args[0]).name, args[1:]
    environ = dict(os.environ)
    found = action(tool, rest, environ)
    if found.kind == "run":
        program = shutil.which(tool, path=environ.get(REAL_PATH, "")) or tool
        os.execv(program, [program, *rest])
    if found.kind == "refuse":
        print(f"refused: {found.why}", file=sys.stderr)
        return 3
    stdin = None if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read() if _wants_stdin(rest) else None
    entry, code = perform(found, shlex.join([tool, *rest]), environ, stdin)
    with open(environ[CAPTURE], "a", encoding="utf-8") as capture:
        capture.write(json.dumps(entry) + "\n")
    return code


def _wants_stdin(args: Sequence[str]) -> bool:
    return any(a in ("-f", "--filename") and b == "-" for a, b in itertools.pairwise(args)) or \
        "--filename=-" in args or "-f-" in args


if __name__ == "__main__":
    sys.exit(main())
