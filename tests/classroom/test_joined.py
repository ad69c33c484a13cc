"""The participant's side of a seat through fakes: the settings `./shopbox.sh join` reads, the kubeconfig and the
Docker credentials the shell gets, the forwards, `shopbox-join check` refusing an expired file or one for another
cluster in one line, and the doctor's lines. The real thing is tests/class_cluster/test_class_join.py (workshop)."""

from __future__ import annotations

import json
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from classroom import joinfile
from classroom import seat as classroom_seat
from classroom.errors import ClassError
from classroom.joined import cli, doctor, seat
from classroom.joined.forward import Forward
from classroom.model import ClassSpec, Registry
from forge.cluster import namespace as forge_namespace
from forge.cluster.kube import ApiError
from forge.errors import ForgeError

pytestmark = pytest.mark.unit

NOW = datetime(2030, 5, 4, 9, 0, tzinfo=UTC)
SPEC = ClassSpec(name="room", ends=NOW + timedelta(hours=8), cluster_id="cluster-a", server="https://k8s.example:6443",
                 ca_data="Y2E=")
PER_SEAT = Registry("localhost:31000", "ana", "pw", pod="registry-ana-0", port=5000)
EXTERNAL = Registry("reg.example.com/room/ana", "ana", "s3cret")
INFO = {"class": "room", "seat": "ana", "cluster-id": "cluster-a", "ends": "2030-05-04T17:00:00Z",
        "registry": "localhost:31000"}


def join_file(tmp_path: Path, reg: Registry = PER_SEAT, **changes: Any) -> Path:
    data = joinfile.build(SPEC, "ana", "room-ana", reg, "tok.en.x", SPEC.ends)
    data.update(changes)
    path = tmp_path / "ana.yaml"
    joinfile.write(path, data)
    return path


def load(tmp_path: Path, reg: Registry = PER_SEAT, **changes: Any) -> joinfile.Join:
    return joinfile.load(join_file(tmp_path, reg, **changes), NOW)


class Reader:
    def __init__(self, info: dict[str, str] | None) -> None:
        self.info = info

    def seat_info(self, join: joinfile.Join) -> dict[str, str] | None:
        return self.info


# -- what the joined shell is made of ----------------------------------------------------------------------


def test_the_settings_name_the_seat_its_registry_port_and_where_forge_url_finds_the_edge_and_prometheus(
        tmp_path: Path) -> None:
    found = seat.settings(load(tmp_path))
    assert found == {
        "SEAT_CLASS": "room", "SEAT_NAME": "ana", "SEAT_NAMESPACE": "room-ana", "SEAT_SERVER": SPEC.server,
        "SEAT_EXPIRES": "2030-05-04T17:00:00Z", "SEAT_REGISTRY": "localhost:31000", "SEAT_REGISTRY_PORT": "31000",
        "SEAT_EDGE_LISTEN": "30080", "SEAT_PROMETHEUS_LISTEN": "30090",
        "SEAT_SERVICE_URLS": "room-ana/envoy=http://localhost:30080,room-ana/prometheus=http://localhost:30090"}
    # shopbox.sh reads these lines with a plain `IFS== read`: nothing in them a shell would expand or split.
    assert all(re.fullmatch(r"[A-Za-z0-9_.:/@,=+-]*", value) for value in found.values())


def test_an_external_registry_has_no_port_to_publish_and_no_registry_forward(tmp_path: Path) -> None:
    join = load(tmp_path, EXTERNAL)
    assert seat.settings(join)["SEAT_REGISTRY_PORT"] == ""
    assert seat.settings(join)["SEAT_REGISTRY"] == "reg.example.com/room/ana"
    assert [f.name for f in seat.forwards(join)] == ["edge", "prometheus"]


def test_the_forwards_are_the_seat_services_and_its_registry_pod_in_the_class_namespace(tmp_path: Path) -> None:
    assert seat.forwards(load(tmp_path)) == [
        Forward("edge", "room-ana", "service", "envoy", 8080, 30080),
        Forward("prometheus", "room-ana", "service", "prometheus", 9090, 30090),
        Forward("registry", "room", "pod", "registry-ana-0", 5000, 31000)]


def test_a_forward_the_shell_does_not_know_or_a_registry_without_port_is_refused_naming_the_field(
        tmp_path: Path) -> None:
    with pytest.raises(ClassError, match=r"ana.yaml: forwards.jaeger: unknown \(expected edge, prometheus\)"):
        seat.forwards(load(tmp_path, forwards={"jaeger": {"service": "jaeger", "port": 16686}}))
    bad = load(tmp_path, registry={"name": "localhost", "username": "a", "password": "b",
                                   "forward": {"namespace": "room", "pod": "registry-ana-0", "port": 5000}})
    with pytest.raises(ClassError, match=r"registry.name: 'localhost' has no port"):
        seat.settings(bad)


def test_the_kubeconfig_is_the_join_files_own(tmp_path: Path) -> None:
    join = load(tmp_path)
    assert yaml.safe_load(seat.kubeconfig_text(join)) == join.data["kubeconfig"]


def test_docker_login_stores_the_seat_registry_credentials_keeping_other_entries(tmp_path: Path) -> None:
    config = tmp_path / "home" / ".docker" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"auths": {"other.example": {"auth": "eA=="}}, "psFormat": "table"}))
    assert seat.docker_login(load(tmp_path, EXTERNAL), config) == "reg.example.com"
    data = json.loads(config.read_text())
    assert data["auths"]["reg.example.com"] == {"auth": "YW5hOnMzY3JldA=="}  # ana:s3cret
    assert data["auths"]["other.example"] == {"auth": "eA=="} and data["psFormat"] == "table"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_the_seat_configmap_forge_setup_reads_is_the_one_the_class_writes() -> None:
    assert forge_namespace.SEAT_INFO == classroom_seat.SEAT_INFO


# -- shopbox-join check ----------------------------------------------------------------------------------------


def test_check_accepts_a_join_file_the_cluster_holds_the_seat_of(tmp_path: Path) -> None:
    join = cli.check(join_file(tmp_path), NOW, Reader(INFO))
    assert (join.seat, join.namespace) == ("ana", "room-ana")


def test_check_refuses_an_expired_join_file_in_one_line_before_asking_the_cluster(tmp_path: Path) -> None:
    class Unreachable:
        def seat_info(self, join: joinfile.Join) -> dict[str, str] | None:
            raise AssertionError("an expired file is refused without the network")

    path = join_file(tmp_path)
    with pytest.raises(ClassError) as caught:
        cli.check(path, SPEC.ends + timedelta(minutes=1), Unreachable())
    assert str(caught.value) == (f"{path}: expired at 2030-05-04T17:00:00Z (class room, seat ana): ask the instructor "
                                 "for a new join file")


def test_check_refuses_a_join_file_for_another_cluster_in_one_line(tmp_path: Path) -> None:
    path = join_file(tmp_path)
    with pytest.raises(ClassError) as caught:
        cli.check(path, NOW, Reader({**INFO, "cluster-id": "cluster-b"}))
    assert "\n" not in str(caught.value)
    assert str(caught.value).endswith("is cluster cluster-b, but this join file is for cluster cluster-a: it belongs "
                                      "to another cluster")
    with pytest.raises(ClassError, match="has no seat ana of class room"):
        cli.check(path, NOW, Reader(None))


def test_shopbox_join_prints_one_error_line_and_exits_1_for_a_file_that_is_not_a_join_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.yaml"
    path.write_text("hello: world\n")
    assert cli.main(["kubeconfig", str(path)]) == 1
    err = capsys.readouterr().err
    assert err == (f"shopbox: error: {path}: not a shopbox join file (expected apiVersion class.shopbox.io/v1, kind "
                   "SeatJoin)\n")


# -- doctor ------------------------------------------------------------------------------------------------


class Probe:
    def __init__(self, **answers: Any) -> None:
        self.answers = {"version": "1.36.1", "username": "system:serviceaccount:room-ana:seat", "seat_info": INFO,
                        "registry_status": 200, "quotas": [quota({"pods": ("3", "20"),
                                                                  "requests.cpu": ("350m", "1600m"),
                                                                  "services.nodeports": ("0", "0")})]}
        self.answers.update(answers)

    def _answer(self, name: str) -> Any:
        value = self.answers[name]
        if isinstance(value, Exception):
            raise value
        return value

    def version(self) -> str:
        return self._answer("version")

    def username(self) -> str:
        return self._answer("username")

    def seat_info(self) -> dict[str, str] | None:
        return self._answer("seat_info")

    def quotas(self) -> list[dict[str, Any]]:
        return self._answer("quotas")

    def registry_status(self) -> int | None:
        return self._answer("registry_status")


def quota(entries: dict[str, tuple[str, str]]) -> dict[str, Any]:
    return {"status": {"used": {k: used for k, (used, _) in entries.items()},
                       "hard": {k: hard for k, (_, hard) in entries.items()}}}


def lines(path: Path, probe: Probe, now: datetime = NOW) -> list[str]:
    return [check.lines() for check in doctor.checks(path, lambda join: probe, now)]


def test_doctor_says_ok_for_each_part_of_a_good_join_one_line_each(tmp_path: Path) -> None:
    found = lines(join_file(tmp_path), Probe())
    assert [line[7:].split()[0] for line in found] == ["join-file", "api-server", "token", "seat", "registry", "quota"]
    assert all(line.startswith("[ OK ]") and "\n" not in line for line in found)
    assert "valid until 2030-05-04T17:00:00Z (8 h 00 min left)" in found[0]
    assert "https://k8s.example:6443 answers (Kubernetes 1.36.1)" in found[1]
    assert "accepted: system:serviceaccount:room-ana:seat" in found[2]
    assert "localhost:31000 accepts the seat's credentials: pushes are allowed" in found[4]
    assert found[5].endswith("left: pods 3/20, requests.cpu 350m/1600m")


def test_doctor_fails_an_expired_file_and_skips_what_needs_it(tmp_path: Path) -> None:
    found = lines(join_file(tmp_path), Probe(), now=SPEC.ends + timedelta(seconds=1))
    assert found[0].startswith("[FAIL] join-file") and "expired at 2030-05-04T17:00:00Z" in found[0]
    assert "fix: ask the instructor for a new join file" in found[0]
    assert [line[:6] for line in found[1:]] == ["[SKIP]"] * 5


SERVER = "https://k8s.example:6443"
UNREACHABLE = ForgeError(f"cluster unreachable: context room at {SERVER}: connection refused")
# What forge.cluster.kube makes of the API server's 401 (tests/forge/test_kube.py), and a 403.
UNAUTHORIZED = ApiError(401, "Unauthorized", f"context room at {SERVER} refused the credentials (401 Unauthorized)")
FORBIDDEN = ApiError(403, "Forbidden", 'configmaps "seat" is forbidden: User "system:serviceaccount:room-ana:seat" '
                     'cannot get resource "configmaps" in API group "" in the namespace "room-ana"')


def test_doctor_says_the_api_server_does_not_answer_only_when_it_does_not(tmp_path: Path) -> None:
    path = join_file(tmp_path)
    found = lines(path, Probe(version=UNREACHABLE))
    assert found[1] == (f"[FAIL] api-server     the API server {SERVER} does not answer: connection refused\n"
                        f"{'':<22}fix: check this machine's network (a proxy or VPN?); the API server is the one "
                        "address of the class's cluster your machine needs to reach")
    assert all(line.startswith("[SKIP]") for line in found[2:])
    found = lines(path, Probe(version=ApiError(503, "ServiceUnavailable", "the server is currently unable")))
    assert found[1].startswith(f"[FAIL] api-server     the API server {SERVER} answered HTTP 503: the server is")
    assert "network" not in found[1]


@pytest.mark.parametrize("step", ["version", "username"])
def test_doctor_says_the_seats_token_is_refused_naming_the_file_not_the_network(tmp_path: Path, step: str) -> None:
    """After `class down` the seat's ServiceAccount is gone: every request with its token is a 401, /version too."""
    path = join_file(tmp_path)
    found = lines(path, Probe(**{step: UNAUTHORIZED}))
    assert found[1].startswith("[ OK ] api-server") and "network" not in "".join(found)
    assert found[1].endswith("answers (HTTP 401 to the seat's token)" if step == "version" else
                             "answers (Kubernetes 1.36.1)")
    assert found[2] == (f"[FAIL] token          the API server {SERVER} refused the seat's token (401 Unauthorized): "
                        "it expired, the seat or its class was removed (class down), or the file is for another "
                        f"cluster\n{'':<22}fix: ask the instructor for a new join file ({path} no longer works)")
    assert [line[:6] for line in found[3:]] == ["[SKIP]"] * 3


def test_doctor_says_a_call_is_forbidden_and_the_file_is_fine(tmp_path: Path) -> None:
    path = join_file(tmp_path)
    found = lines(path, Probe(seat_info=FORBIDDEN))
    assert [line[:6] for line in found[:3]] == ["[ OK ]"] * 3
    assert found[3].startswith(f"[FAIL] seat           the API server {SERVER} accepted the seat's token but forbids "
                               'this call (403 Forbidden: configmaps "seat" is forbidden: User ')
    assert found[3].endswith(f"fix: ask the instructor to check seat ana's Role and RoleBinding ({path} is fine)")
    found = lines(path, Probe(quotas=FORBIDDEN))
    assert found[5].startswith("[FAIL] quota          cannot read the seat's quota: the API server") and \
        "(403 Forbidden:" in found[5]


@pytest.mark.parametrize(("error", "words"), [
    (UNREACHABLE, f"the API server {SERVER} does not answer: connection refused: check this machine's network"),
    (UNAUTHORIZED, f"the API server {SERVER} refused the seat's token (401 Unauthorized): "),
    (FORBIDDEN, f"the API server {SERVER} accepted the seat's token but forbids this call (403 Forbidden: "),
])
def test_shopbox_join_check_tells_the_same_cases_apart_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: ForgeError, words: str) -> None:
    class Refusing:
        def get(self, path: str) -> dict[str, Any] | None:
            raise error

    monkeypatch.setattr(seat, "connect", lambda join: Refusing())
    path = join_file(tmp_path)
    with pytest.raises(ClassError) as caught:
        cli.check(path, NOW, cli.ClusterSeatReader())
    assert str(caught.value).startswith(f"{path}: {words}") and "\n" not in str(caught.value)


def test_doctor_fails_a_seat_of_another_cluster_and_a_registry_that_refuses_the_credentials(tmp_path: Path) -> None:
    path = join_file(tmp_path)
    found = lines(path, Probe(seat_info={**INFO, "cluster-id": "cluster-b"}))
    assert found[3].startswith("[FAIL] seat") and "belongs to another cluster" in found[3]
    found = lines(path, Probe(registry_status=401))
    assert found[4].startswith("[FAIL] registry") and "refuses the seat's credentials (HTTP 401)" in found[4]


def test_doctor_fails_a_full_quota_naming_it_and_warns_when_nearly_full(tmp_path: Path) -> None:
    path = join_file(tmp_path)
    full = lines(path, Probe(quotas=[quota({"pods": ("20", "20"), "requests.memory": ("1Gi", "2Gi")})]))[5]
    assert full.startswith("[FAIL] quota") and "full: pods 20/20" in full and "fix: delete what you no longer" in full
    nearly = lines(path, Probe(quotas=[quota({"requests.memory": ("1900Mi", "2Gi")})]))[5]
    assert nearly.startswith("[WARN] quota") and "nearly full: requests.memory 1900Mi/2Gi" in nearly
