"""Exercise 2 (exercises/02-compose.md) replayed as written on the real Docker engine, in the shopbox shell image as
a participant runs it: a container of that image on the lab's network (so `front-envoy` resolves, as it does on
the workshop's `kind` network), the host's Docker socket and this repository mounted at the same path (Compose's
bind mounts are paths on the host); `docker compose` is the shell image's own plugin, as for a participant.
`lab reset 2`, then every `$ ` line in one bash session, each step's check failing before
its step and passing after it; then every solve from a reset, and the reset from the page's busiest state.

Images and names come from tests/compose/lab.py: compose.yaml reads them from the environment, so the page's
commands run unchanged. Prints the page's time."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from exercises.lab import course
from exercises.lab.replay import reset_and_replay
from exercises.lab.shell import Bash, Session
from tests.compose.lab import COMPOSE_FILE, lab_environment
from tests.services.rendered import REPO
from tests.shopbox.conftest import shopbox_image  # noqa: F401  (the fixture)

pytestmark = pytest.mark.docker

PAGES = course.load(REPO / "exercises")
PAGE = course.find(PAGES, "compose")[0]


@pytest.fixture(scope="module")
def shell(docker_client, python_base_image: str, request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """`docker exec` into a shopbox shell container set up as above: the argv that starts bash in it."""
    image = request.getfixturevalue("shopbox_image")
    with lab_environment(docker_client, python_base_image) as env:
        name = f"shopbox-compose-page-{uuid.uuid4().hex[:8]}"
        subprocess.run(["docker", "run", "-d", "--name", name, "--network", env["COMPOSE_LAB_NETWORK"],
                        "-v", f"{REPO}:{REPO}:ro", "-w", str(REPO), "-v", "/var/run/docker.sock:/var/run/docker.sock",
                        *(f"--env={k}={v}" for k, v in env.items()),
                        "--env=NO_COLOR=1", "--user", "0", "--entrypoint", "sleep", image, "infinity"],
                       check=True, capture_output=True, timeout=120)
        try:
            yield ["docker", "exec", "-i", name, "bash"]
        finally:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=120)


def lab_containers(argv: list[str]) -> str:
    done = Bash(REPO, argv=argv)(f"docker compose -f {COMPOSE_FILE} ps -aq", 60)
    assert done.code == 0, done.output
    return done.output.strip()


def test_every_line_of_the_page_in_the_shopbox_shell(shell: list[str], report) -> None:
    seconds, (page,) = reset_and_replay([PAGE], PAGE, Bash(REPO, argv=shell), lambda: Session(REPO, argv=shell),
                                        can_run=lambda _: None)
    report(f"lab reset {PAGE.number} ({seconds:.0f} s), then {page.summary()}")
    assert page.executed == page.total == page.as_written
    assert not page.skipped and not page.unchecked
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
