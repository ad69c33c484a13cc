"""forge start-up: whole `forge` processes as a user runs them, median of 10 interleaved rounds.

Goals (issue 15): `forge --help` <= 0.3 s, `forge render` of the workshop <= 0.5 s, `forge canary status` loads
neither the Kubernetes nor the Docker client. Wall time on a loaded machine varies with the load, so CPU time
(user + sys of the process) is printed too, and `python -c pass` as the floor every process pays.

Run: .venv/bin/python -m tests.bench.startup_bench   (prints numbers; asserts nothing)
With FORGE_BENCH_BASELINE=<another checkout of this repository> (e.g. a `git worktree` of an older commit) the same
commands run from that checkout's forge too, interleaved, and the ratios new/baseline are printed.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.platform.procs import free_port

REPO = Path(__file__).resolve().parents[2]
FORGE = str(Path(sys.executable).parent / "forge")
ROUNDS = 10
GOALS = {"forge --help": 0.3, "forge render": 0.5}
HEAVY = ("kubernetes", "docker")


COMMANDS = {
    "forge --help": ["--help"],
    "forge render": ["render"],
    "forge canary status": ["canary", "status", "qotm", "--prometheus", "http://127.0.0.1:{port}"],
}
# forge from the current directory's checkout (python puts it first on sys.path, before the editable install).
_FROM_CWD = [sys.executable, "-c", "from forge.cli import main; main(prog_name='forge')"]


def commands(baseline: Path | None) -> dict[str, tuple[list[str], Path]]:
    """name -> (argv, working directory); nothing listens on the Prometheus port: status fails after its imports."""
    port = str(free_port())
    todo = {"python -c pass": ([sys.executable, "-c", "pass"], REPO)}
    for name, args in COMMANDS.items():
        args = [a.replace("{port}", port) for a in args]
        todo[name] = ([FORGE, *args], REPO)
        if baseline:
            todo[f"baseline {name}"] = ([*_FROM_CWD, *args], baseline)
    return todo


def _run(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, capture_output=True, timeout=120, check=False,
                   env={k: v for k, v in os.environ.items() if k not in ("CANARY", "FORGE_PROFILE")})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def heavy_imports(argv: list[str], cwd: Path) -> list[str]:
    """Which of the Kubernetes and Docker client packages the command imports (python -X importtime)."""
    result = subprocess.run([sys.executable, "-X", "importtime", *(["-m", "forge"] if argv[0] == FORGE else []),
                             *argv[1:]], cwd=cwd,
                            capture_output=True, text=True, timeout=120, check=False)
    names = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time")}
    return [name for name in HEAVY if name in names]


def main() -> None:
    baseline = Path(os.environ["FORGE_BENCH_BASELINE"]) if os.environ.get("FORGE_BENCH_BASELINE") else None
    todo = commands(baseline)
    wall: dict[str, list[float]] = {name: [] for name in todo}
    cpu: dict[str, list[float]] = {name: [] for name in todo}
    for _ in range(ROUNDS):  # interleaved: a load spike hits every command alike
        for name, (argv, cwd) in todo.items():
            seconds, used = _run(argv, cwd)
            wall[name].append(seconds)
            cpu[name].append(used)
    floor = statistics.median(wall["python -c pass"])
    print(f"forge start-up, whole processes, median of {ROUNDS} interleaved rounds (load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):")
    for name, (argv, cwd) in todo.items():
        median = statistics.median(wall[name])
        goal = GOALS.get(name)
        verdict = f"  goal <= {goal:.1f} s: {'met' if median <= goal else 'NOT met'}" if goal else ""
        if f"baseline {name}" in wall:
            verdict += f"  new/baseline wall {median / statistics.median(wall[f'baseline {name}']):.2f}"
        clients = ""
        if name != "python -c pass":
            clients = f"  imports: {', '.join(heavy_imports(argv, cwd)) or 'neither kubernetes nor docker'}"
        print(f"  {name:<28} wall {median * 1000:5.0f} ms (x{median / floor:4.1f} of python -c pass)  "
              f"cpu {statistics.median(cpu[name]) * 1000:5.0f} ms{verdict}{clients}")


if __name__ == "__main__":
    main()
