"""An in-memory stand-in for shopbox_setup's Runner: reads answer from a small model of the engine (containers
with their state and labels, networks, images, cgroup version); changes and the emitted product are recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class FakeEngine:
    containers: dict[str, str] = field(default_factory=dict)  # name -> state
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> its labels
    networks: dict[str, list[str]] = field(default_factory=dict)
    images: set[str] = field(default_factory=set)
    cgroup: str = "2"
    dry_run: bool = False
    calls: list[tuple[str, str]] = field(default_factory=list)  # (command, stdin) of each change, in order
    emitted: list[str] = field(default_factory=list)

    def run(self, argv: Sequence[str], stdin: str | None = None) -> None:
        self.calls.append((" ".join(argv), stdin or ""))

    def emit(self, argv: Sequence[str]) -> None:
        self.emitted.append(" ".join(argv))

    def read(self, argv: Sequence[str]) -> str | None:
        args = list(argv)
        match args[:3]:
            case ["docker", "container", "inspect"]:
                state = self.containers.get(args[-1])
                return None if state is None else state + "\n"
            case ["docker", "ps", "-a"]:
                key, _, value = args[args.index("--filter") + 1].removeprefix("label=").partition("=")
                return "".join(f"{name} {self.containers[name]}\n" for name, labels in sorted(self.labels.items())
                               if key in labels and (not value or labels[key] == value))
            case ["docker", "network", "inspect"]:
                members = self.networks.get(args[3])
                return None if members is None else "".join(f"{m} " for m in members) + "\n"
            case ["docker", "image", "inspect"]:
                return "[]" if args[3] in self.images else None
            case ["docker", "info", _]:
                return self.cgroup + "\n"
        raise AssertionError(f"the fake engine cannot answer {args}")

    def node(self, cluster: str, name: str, state: str = "running") -> None:
        self.containers[name] = state
        self.labels[name] = {"io.x-k8s.kind.cluster": cluster}

    def labelled(self, name: str, labels: dict[str, str], state: str = "running") -> None:
        self.containers[name] = state
        self.labels[name] = labels

    @property
    def commands(self) -> list[str]:
        return [command for command, _ in self.calls]

    def stdin_of(self, fragment: str) -> str:
        (stdin,) = [stdin for command, stdin in self.calls if fragment in command]
        return stdin
