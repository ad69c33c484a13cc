"""`./shopbox.sh class ...` for real: shopbox-class in the offline-built shell image, against a real API server (the
local control plane) through the instructor's kubeconfig, writing the join files into the current directory as the
instructor's own files."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.shopbox.offline_image import SHOPBOX_SH

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
    finally:
        down = shopbox("down")
    assert down.returncode == 0 and "nothing of the class is left" in down.stderr, down.stderr
