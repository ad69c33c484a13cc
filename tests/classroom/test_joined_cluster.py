"""`shopbox-join doctor` against the local control plane (a real kube-apiserver's token authentication): a seat
made from the seat model, its join file holding a real bound token (TokenRequest) of the seat's ServiceAccount.
The token is accepted; once the ServiceAccount is deleted (what `class down` does to every seat) the API server
refuses it with 401 on every request, /version included, and the doctor says the token was refused, naming the
join file, not that the network is at fault. The other cases through fakes: test_joined.py."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from classroom import joinfile, seat
from classroom.joined import cli
from classroom.model import Registry
from tests.classroom.test_seat_forge import apply_seat, class_spec
from tests.cluster import KubeCluster

pytestmark = pytest.mark.cluster


def doctor(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = cli.main(["doctor", str(path)])
    return code, capsys.readouterr().out.splitlines()


def test_doctor_says_a_deleted_seats_token_is_refused_not_that_the_network_is_down(
        kube_cluster: KubeCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = class_spec(kube_cluster)
    server = spec.server
    registry = Registry(f"registry.invalid/{spec.name}/ana", "ana", "pw")
    namespace = apply_seat(kube_cluster, spec, registry)
    try:
        token = kube_cluster.kubectl("create", "token", seat.SEAT_ACCOUNT, "-n", namespace,
                                     "--duration=1h").stdout.strip()
        path = tmp_path / "ana.yaml"
        joinfile.write(path, joinfile.build(spec, "ana", namespace, registry, token, spec.ends))

        _, lines = doctor(path, capsys)
        assert lines[1].startswith(f"[ OK ] api-server     {server} answers (Kubernetes "), lines
        assert lines[2].startswith(f"[ OK ] token          accepted: system:serviceaccount:{namespace}:"), lines

        kube_cluster.kubectl("delete", "serviceaccount", seat.SEAT_ACCOUNT, "-n", namespace)
        # The API server's ServiceAccount cache and its cache of authenticated tokens follow the delete a moment
        # later, one call at a time: for a while /version may still answer the token and the next call refuse it.
        deadline = time.monotonic() + 30
        while True:
            code, lines = doctor(path, capsys)
            if (code == 1 and lines[1].endswith("(HTTP 401 to the seat's token)")) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert code == 1, lines
        assert lines[1] == f"[ OK ] api-server     {server} answers (HTTP 401 to the seat's token)", lines
        assert lines[2:4] == [
            f"[FAIL] token          the API server {server} refused the seat's token (401 Unauthorized): it expired, "
            "the seat or its class was removed (class down), or the file is for another cluster",
            f"{'':<22}fix: ask the instructor for a new join file ({path} no longer works)"], lines
        assert not any("network" in line for line in lines), lines
    finally:
        kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
