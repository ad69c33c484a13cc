"""The capability filter that lets these VMs start privileged containers (tests/platform/runc_capfilter.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.platform import runc_capfilter
from tests.platform.fixtures import require


def spec(caps: list[str]) -> dict:
    return {"ociVersion": "1.0.2", "process": {"args": ["true"], "capabilities": {
        key: list(caps) for key in ("bounding", "effective", "permitted")}}, "root": {"path": "rootfs"}}


@pytest.mark.unit
def test_create_drops_only_what_the_bounding_set_lacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(runc_capfilter, "allowed", lambda: {"CAP_CHOWN", "CAP_SYS_ADMIN"})
    (tmp_path / "config.json").write_text(json.dumps(spec(["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"])))
    runc_capfilter.filter_file(str(tmp_path / "config.json"), "process")
    caps = json.loads((tmp_path / "config.json").read_text())["process"]["capabilities"]
    assert caps == {key: ["CAP_CHOWN", "CAP_SYS_ADMIN"] for key in ("bounding", "effective", "permitted")}
    assert json.loads((tmp_path / "config.json").read_text())["root"] == {"path": "rootfs"}


@pytest.mark.unit
def test_exec_process_file_and_option_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(runc_capfilter, "allowed", lambda: {"CAP_KILL"})
    process = tmp_path / "process.json"
    process.write_text(json.dumps(spec(["CAP_KILL", "CAP_BPF"])["process"]))
    runc_capfilter.filter_file(str(process), None)
    assert json.loads(process.read_text())["capabilities"]["bounding"] == ["CAP_KILL"]
    assert runc_capfilter.option(["--root", "x", "create", "--bundle", "/b", "id"], "--bundle", "-b") == "/b"
    assert runc_capfilter.option(["exec", "--process=/p", "id"], "--process", "-p") == "/p"
    assert runc_capfilter.option(["start", "id"], "--bundle", "-b") is None


@pytest.mark.unit
def test_allowed_reads_this_machines_bounding_set():
    mask = int(next(line.split()[1] for line in Path("/proc/self/status").read_text().splitlines()
                    if line.startswith("CapBnd:")), 16)
    expected = {f"CAP_{name}" for bit, name in enumerate(runc_capfilter.NAMES) if mask >> bit & 1}
    assert runc_capfilter.allowed() == expected
    assert ("CAP_SYS_RESOURCE" in expected) == bool(mask >> 24 & 1)


@pytest.mark.docker
def test_a_privileged_container_with_systemd_style_cgroups_runs(docker_client, python_base_image: str):
    """What kind needs of the engine: a privileged container with a private cgroup namespace starts."""
    result = subprocess.run(["docker", "run", "--rm", "--privileged", "--cgroupns=private", python_base_image,
                             "sh", "-c", "grep CapEff /proc/self/status; cat /proc/self/cgroup"],
                            capture_output=True, text=True, timeout=120)
    require(result.returncode == 0 or "unable to apply caps" not in result.stderr,
            "engine refuses privileged containers: run tests/platform/start.sh")
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[1], 16) & 1 << 21  # CAP_SYS_ADMIN: it is privileged
