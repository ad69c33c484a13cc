"""What the Docker engine has: containers, the cluster's nodes, networks, images, its cgroup version. Read through
the runner, so that a dry run reads the real state and the unit tests answer from a fake."""

from __future__ import annotations

from shopbox_setup.runner import Runner
from shopbox_setup.settings import Settings


def container_state(runner: Runner, name: str) -> str:
    """`running`, `exited`, ... or "" when there is no such container."""
    return (runner.read(["docker", "container", "inspect", "--format", "{{.State.Status}}", name]) or "").strip()


def labelled(runner: Runner, label: str) -> dict[str, str]:
    """The containers with `label` (KEY or KEY=VALUE), name -> state, sorted by name."""
    out = runner.read(["docker", "ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}} {{.State}}"]) or ""
    pairs = (line.split(" ", 1) for line in out.splitlines() if line.strip())
    return dict(sorted((name, state.strip()) for name, state in pairs))


def nodes(runner: Runner, settings: Settings) -> dict[str, str]:
    """The cluster's node containers (kind's label), name -> state, sorted by name."""
    return labelled(runner, settings.node_label)


def network_members(runner: Runner, network: str) -> list[str] | None:
    """The containers on `network`, or None when there is no such network."""
    out = runner.read(["docker", "network", "inspect", network, "--format", "{{range .Containers}}{{.Name}} {{end}}"])
    return None if out is None else out.split()


def image_exists(runner: Runner, ref: str) -> bool:
    return runner.read(["docker", "image", "inspect", ref]) is not None


def cgroup_version(runner: Runner) -> str:
    """1 or 2: the cgroup version of the kernel the engine (so every kind node) runs on; 2 when it does not say."""
    return (runner.read(["docker", "info", "--format", "{{.CgroupVersion}}"]) or "").strip() or "2"


def tag_of(ref: str) -> str:
    """name:tag without the @sha256 digest (`:pinned` when the ref has no tag): `docker save` keeps tags only."""
    name = ref.split("@", 1)[0]
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:pinned"
