"""Exercise 2 (exercises/02-compose.md) replayed as written on the real Docker engine, in the shopbox shell image as
a participant runs it: a container of that image on the lab's network (so `front-envoy` resolves, as it does on
the workshop's `kind` network), the host's Docker socket and a copy of the repository's lab and pages mounted at
the same path (Compose's bind mounts are paths on the host; the page writes a file of the participant's own,
`mine/slow.yaml`); `docker compose` is the shell image's own plugin, as for a participant.
`lab reset 2`, then every `$ ` line in one bash session, each step's check failing before
its step and passing after it; then every solve from a reset, and the reset from the page's busiest state.

Images and names come from tests/compose/lab.py: compose.yaml reads them from the environment, so the page's
commands run unchanged. Prints the page's time."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from exercises.lab import course, recorded
from exercises.lab.replay import reset_and_replay
from exercises.lab.shell import Bash, Session
from tests.compose.lab import COMPOSE_FILE, lab_environment
from tests.services.rendered import REPO
from tests.shopbox.conftest import shopbox_image  # noqa: F401  (the fixture)

pytestmark = pytest.mark.docker

PAGES = course.load(REPO / "exercises")
PAGE = course.find(PAGES, "compose")[0]
COPIED = ("compose-lab", "exercises", "versions.env")  # what page 2 reads; it writes mine/ beside them


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compose-page") / "shopbox"
    for name in COPIED:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "build"))
        else:
            shutil.copy2(REPO / name, root / name)
    return root


@pytest.fixture(scope="module")
def shell(docker_client, python_base_image: str, workspace: Path,
          request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """`docker exec` into a shopbox shell container set up as above: the argv that starts bash in it (the
    container's working directory is the workspace copy; the callers' own cwd does not matter)."""
    image = request.getfixturevalue("shopbox_image")
    with lab_environment(docker_client, python_base_image) as env:
        name = f"shopbox-compose-page-{uuid.uuid4().hex[:8]}"
        subprocess.run(["docker", "run", "-d", "--name", name, "--network", env["COMPOSE_LAB_NETWORK"],
                        "-v", f"{workspace}:{workspace}", "-w", str(workspace),
                        "-v", "/var/run/docker.sock:/var/run/docker.sock",
                        *(f"--env={k}={v}" for k, v in env.items()),
                        "--env=NO_COLOR=1", "--user", "0", "--entrypoint", "sleep", image, "infinity"],
                       check=True, capture_output=True, timeout=120)
        try:
            yield ["docker", "exec", "-i", name, "bash"]
        finally:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=120)


def lab_containers(argv: list[str]) -> str:
    done = Bash(REPO, argv=argv)(f"docker compose -f {COMPOSE_FILE.relative_to(REPO)} ps -aq", 60)
    assert done.code == 0, done.output
    return done.output.strip()


def test_every_line_of_the_page_in_the_shopbox_shell(shell: list[str], report) -> None:
    seconds, (page,) = reset_and_replay([PAGE], PAGE, Bash(REPO, argv=shell), lambda: Session(REPO, argv=shell),
                                        can_run=lambda _: None)
    report(f"lab reset {PAGE.number} ({seconds:.0f} s), then {page.summary()}")
    if os.environ.get("SHOPBOX_RECORD_OUTPUTS") == "1":  # as the workshop tier's replay records every page
        report(f"recorded: {recorded.write(PAGE, page.printed, REPO)}")
    assert page.executed == page.total  # every line: as written, or (the editor) through the page's equivalent
    assert page.replaced == sum(1 for line in PAGE.lines if line.exempt)
    assert not page.skipped and not page.unchecked
    assert not page.drifted, "\n".join(page.drifted)
    assert lab_containers(shell) == ""


def test_the_solves_reach_every_step_and_the_reset_undoes_the_busiest(shell: list[str], report) -> None:
    run, said = Bash(REPO, argv=shell), []
    started = time.monotonic()
    assert course.reset([PAGE], PAGE, run, said.append).code == 0
    busiest = PAGE.steps[-2]  # a replica paused, the front proxy balancing over the other one
    done = course.solve(PAGE, busiest, run, said.append)
    assert done.code == 0, "\n".join([*said, done.output])
    solved = [line.splitlines()[0] for line in said if line.splitlines()[0].endswith(": solving")]
    assert solved == [f"{step.id} {step.title}: solving" for step in PAGE.steps[: busiest.index]]
    assert lab_containers(shell) != ""
    assert course.reset([PAGE], PAGE, run, said.append).code == 0
    assert lab_containers(shell) == ""
    report(f"page {PAGE.number}: lab solve {busiest.id} from a reset, then lab reset {PAGE.number}: "
           f"{time.monotonic() - started:.0f} s")
