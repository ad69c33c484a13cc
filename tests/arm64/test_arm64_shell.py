"""The shell image for linux/arm64, as `./shopbox.sh build` makes it on an arm64 engine (an Apple Silicon Mac):
built offline here with every Go tool cross-compiled and the aarch64 wheels of the hash-locked requirements
(tests/shopbox/offline_image.py), then run under qemu. One container runs every smoke command (emulation makes each
start slow), printing a marked section per command."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from tests.arm64.images import runs_arm64
from tests.platform.base_images import ROOT
from tests.platform.fixtures import require, require_command
from tests.shopbox import offline_image

pytestmark = pytest.mark.docker

ELF_MACHINES = {"b700": "arm64", "3e00": "amd64"}  # an ELF header's e_machine (offset 18, little-endian)
TOOLS = ("/usr/local/bin/kubectl", "/usr/local/bin/kind", "/usr/local/bin/docker",
         "/usr/local/libexec/docker/cli-plugins/docker-compose", "/usr/local/libexec/docker/cli-plugins/docker-buildx")
WROTE = re.compile(r"^wrote (\d+) objects in (\d+) files under ", re.MULTILINE)

SMOKE = """
set -euo pipefail
section() { echo "=== $1"; }
section uname; uname -m
section elf; python3 -c 'import sys
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        print(path, f.read(20)[18:20].hex())' TOOLS
section kubectl; kubectl version --client
section kind; kind version
section docker; docker --version
section compose; docker compose version
section buildx; docker buildx version
section forge; forge --help
section render; forge render . -o /tmp/rendered 2>&1
section lab; lab list
""".replace("TOOLS", " ".join(TOOLS))


def sections(out: str) -> dict[str, str]:
    """`=== NAME` marked sections of the smoke script's output."""
    return {m[1]: m[2].strip() for m in re.finditer(r"^=== (\S+)\n(.*?)(?=^=== |\Z)", out, re.MULTILINE | re.DOTALL)}


@pytest.fixture(scope="module")
def arm64_shell(docker_client) -> str:
    require_command("debootstrap")
    require_command("go")
    require(runs_arm64(), "qemu's aarch64 interpreter registered with binfmt_misc (tests/platform/start.sh)")
    return offline_image.build("arm64")


def test_the_shell_image_is_arm64_because_the_engine_is(arm64_shell, docker_client):
    """shopbox.sh's own decision (the engine said aarch64) made the image linux/arm64."""
    attrs = docker_client.api.inspect_image(arm64_shell)
    assert (attrs["Os"], attrs["Architecture"]) == ("linux", "arm64")
    assert arm64_shell.startswith(offline_image.repository("arm64") + ":")


def test_every_smoke_command_runs_in_the_arm64_shell(arm64_shell, tmp_path, report):
    started = time.monotonic()
    result = subprocess.run(["docker", "run", "--rm", "-i", "-v", f"{ROOT}:{ROOT}:ro", "-w", str(ROOT), arm64_shell,
                             "bash", "-c", SMOKE], capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - started
    assert result.returncode == 0, f"exit {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    out = sections(result.stdout)
    report(f"arm64 shell: {len(out)} smoke commands in one container under qemu: {seconds:.0f} s")
    pinned = offline_image.versions()
    assert out["uname"] == "aarch64"
    machines = {path: ELF_MACHINES.get(code) for path, code in (line.split() for line in out["elf"].splitlines())}
    assert machines == dict.fromkeys(TOOLS, "arm64")
    assert out["kubectl"].startswith(f"Client Version: v{pinned['KUBERNETES_VERSION']}\n")
    assert out["kind"].startswith(f"kind v{pinned['KIND_VERSION']} ") and out["kind"].endswith(" linux/arm64")
    assert out["docker"].startswith(f"Docker version {pinned['DOCKER_CLI_VERSION']}, ")
    assert out["compose"] == f"Docker Compose version v{pinned['COMPOSE_VERSION']}"
    assert out["buildx"].split()[:2] == ["github.com/docker/buildx", f"v{pinned['BUILDX_VERSION']}"]
    assert out["forge"].startswith("Usage: forge") and " deploy " in out["forge"]
    host = subprocess.run([sys.executable, "-m", "forge", "render", ".", "-o", str(tmp_path / "rendered")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert WROTE.search(host.stdout + host.stderr), host.stderr
    emulated = WROTE.search(out["render"])
    assert emulated and emulated.groups() == WROTE.search(host.stdout + host.stderr).groups(), out["render"]
    assert "01-docker.md" in out["lab"] and "09-mesh.md" in out["lab"]
