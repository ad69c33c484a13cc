#!/usr/bin/python3
"""An OCI runtime wrapper for these test VMs only: drop the capabilities the kernel will not grant, then run runc.

Docker 20.10 asks runc for *every* capability of a `--privileged` container. These VMs run with a capability
bounding set that lacks CAP_SYS_RESOURCE, so runc fails with `unable to apply caps: operation not permitted`, and
kind (which always starts its nodes privileged) cannot run. tests/platform/start.sh registers this script as
dockerd's default runtime: it removes from the container's config.json (create/run) or the process file (exec)
every capability outside this machine's bounding set, then execs the real runc with the same arguments.
Participants' machines need nothing of the kind. Without a privileged container it changes nothing.
"""

from __future__ import annotations

import json
import os
import sys

RUNC = os.environ.get("SHOPBOX_REAL_RUNC", "/usr/sbin/runc")

# capability(7) numbers, in kernel order.
NAMES = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    "CHECKPOINT_RESTORE",
)


def allowed() -> set[str]:
    """The capabilities in this process's bounding set, as CAP_* names."""
    with open("/proc/self/status") as status:
        mask = next(int(line.split()[1], 16) for line in status if line.startswith("CapBnd:"))
    return {f"CAP_{name}" for bit, name in enumerate(NAMES) if mask >> bit & 1}


def filter_file(path: str, inside: str | None) -> None:
    """Rewrite the capability lists of a runtime-spec file (the process object at key `inside`, or the root)."""
    with open(path) as f:
        spec = json.load(f)
    process = spec.get(inside, {}) if inside else spec
    caps = process.get("capabilities") or {}
    keep = allowed()
    changed = False
    for key, names in caps.items():
        if isinstance(names, list) and any(name not in keep for name in names):
            caps[key] = [name for name in names if name in keep]
            changed = True
    if changed:
        with open(path, "w") as f:
            json.dump(spec, f)


def option(args: list[str], *names: str) -> str | None:
    """The value of a `--name VALUE` / `--name=VALUE` option in args."""
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def main(args: list[str]) -> None:
    command = next((a for a in args if a in ("create", "run", "exec")), None)
    if command in ("create", "run"):
        bundle = option(args, "--bundle", "-b") or "."
        filter_file(os.path.join(bundle, "config.json"), "process")
    elif command == "exec":
        process = option(args, "--process", "-p")
        if process:
            filter_file(process, None)
    os.execv(RUNC, [RUNC, *args])


if __name__ == "__main__":
    main(sys.argv[1:])
