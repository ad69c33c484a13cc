"""`./shopbox.sh class ...` for real: shopbox-class in the offline-built shell image, against a real API server (the
local control plane) through the instructor's kubeconfig, writing the join files into the current directory as the
instructor's own files; and the portal served from the image."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from tests.platform.procs import free_port, port_open, wait_for
from tests.shopbox.offline_image import ROOT, SHOPBOX_SH

pytestmark = pytest.mark.docker

CLASS = "t-shell"


def test_class_up_status_and_down_through_shopbox_sh(shopbox_image: str, kube_cluster, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"  # certificates embedded: the image sees this one file only
    kubeconfig.write_text(kube_cluster.kubectl("config", "view", "--flatten", "--raw").stdout)
    env = {"SHOPBOX_IMAGE": shopbox_image, "KUBECONFIG": str(kubeconfig), "SHOPBOX_CLASS": CLASS}

    def shopbox(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(SHOPBOX_SH), "class", *args], cwd=tmp_path, env={**os.environ, **env},
                              capture_output=True, text=True, timeout=300)

    try:
        up = shopbox("up", "2", "--hours", "1")
        assert up.returncode == 0, up.stderr
        assert up.stdout.splitlines()[0].split()[:3] == ["SEAT", "NAMESPACE", "REGISTRY"]
        assert f"{CLASS}-seat-02" in up.stdout and "2 seats until" in up.stderr
        join = tmp_path / f"class-{CLASS}" / "seat-01.yaml"
        assert join.stat().st_uid == os.getuid() and stat.S_IMODE(join.stat().st_mode) == 0o600
        data = yaml.safe_load(join.read_text())
        assert data["namespace"] == f"{CLASS}-seat-01" and data["kubeconfig"]["users"][0]["user"]["token"]
        status = shopbox("status")
        assert status.returncode == 0 and len(status.stdout.splitlines()) == 3, status.stderr
        check = shopbox("join-check", f"class-{CLASS}/seat-01.yaml")
        assert check.returncode == 0 and f"seat seat-01 of class {CLASS}" in check.stdout, check.stderr
        portal_in_the_image(env, tmp_path, join)
    finally:
        down = shopbox("down")
    assert down.returncode == 0 and "nothing of the class is left" in down.stderr, down.stderr


def portal_in_the_image(env: dict[str, str], tmp_path: Path, join: Path) -> None:
    """`./shopbox.sh class portal`: the portal (Flask, gunicorn, its templates) runs from the image, a participant
    claims seat-01 and downloads its join file; a signal to the process group (as Ctrl-C sends) stops it, container
    included. (It runs where the exercise pages are, the workshop's directory.)"""
    shutil.copytree(ROOT / "exercises", tmp_path / "exercises", ignore=shutil.ignore_patterns("build", "__pycache__"))
    port = free_port()
    log = tmp_path / "portal.log"
    with log.open("w") as out:
        portal = subprocess.Popen(["bash", str(SHOPBOX_SH), "class", "portal", "--host", "127.0.0.1", "--port",
                                   str(port), "--code", "c0de-42"], cwd=tmp_path, env={**os.environ, **env},
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: port_open(port), 120, "the portal in the image")
        session = requests.Session()
        assert "get your seat" in session.get(f"http://127.0.0.1:{port}/", timeout=30).text
        claimed = session.post(f"http://127.0.0.1:{port}/claim", data={"code": "c0de-42", "name": "Ana"}, timeout=60)
        assert claimed.status_code == 200 and '<span id="seat">seat-01</span>' in claimed.text, claimed.text
        assert session.get(f"http://127.0.0.1:{port}/join/seat-01.yaml", timeout=30).content == join.read_bytes()
    finally:
        os.killpg(portal.pid, signal.SIGTERM)  # the whole group, as Ctrl-C reaches bash and `docker run` alike
        assert portal.wait(timeout=60) is not None, log.read_text()
