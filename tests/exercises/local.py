"""What the local platform of the `cluster` tier can run of the exercise pages: the real kube-apiserver with
kwok's simulated pods (no kubelet: nothing runs in a pod, nothing listens on its address or on a node port), the
real Docker engine and a registry on 127.0.0.1. `why_not(command)` says why a command needs the real shopbox
cluster (None: it runs here). The workshop tier runs the same replay with a `can_run` that accepts everything."""

from __future__ import annotations

from exercises.lab.words import simple_commands

NOTHING_RUNS = "talks to a running container; the local control plane's pods are simulated (kwok) and run nothing"
PROGRAMS = {
    "docker": "uses the workshop's Docker network `kind` and its python:3.12-alpine base image",
    "curl": NOTHING_RUNS,
    "hey": NOTHING_RUNS,
    "sleep": "waits for what only running pods produce (load, restarts)",
    "wait": "waits for a background `hey`, which needs running pods",
    "./shopbox.sh": "runs on the participant's machine, outside the shell",
}
KUBELET = {"logs", "exec", "port-forward", "attach", "cp", "top"}


def why_not(command: str) -> str | None:
    for words in simple_commands(command):
        program, args = words[0], words[1:]
        if program in PROGRAMS:
            return PROGRAMS[program]
        if program == "kubectl" and args and args[0] in KUBELET:
            return f"`kubectl {args[0]}` needs a kubelet (kwok has none)"
        if program == "kill" and any(a.startswith(("%", "$!")) for a in args):
            return "stops a background port-forward or `hey`, which needs running pods"
        if program == "forge" and args[:2] == ["canary", "status"]:
            return "reads Prometheus, which needs running pods"
    return None
