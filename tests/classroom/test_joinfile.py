"""The join file: what it holds, its mode, and the one-line refusals (expired, malformed, another cluster or seat).
The cluster tier checks a real token against a real API server (test_class_cluster.py)."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from classroom import joinfile
from classroom.errors import ClassError
from classroom.model import ClassSpec, Registry

pytestmark = pytest.mark.unit

NOW = datetime(2030, 5, 4, 9, 0, tzinfo=UTC)
SPEC = ClassSpec(name="room", ends=NOW + timedelta(hours=8), cluster_id="cluster-a", server="https://k8s.example:6443",
                 ca_data="Y2E=")
REGISTRY = Registry("localhost:31000", "ana", "pw", pod="registry-ana-0", port=5000)


def written(tmp_path: Path, **changes: object) -> Path:
    data = joinfile.build(SPEC, "ana", "room-ana", REGISTRY, "tok.en.x", SPEC.ends)
    data.update(changes)
    path = tmp_path / "ana.yaml"
    joinfile.write(path, data)
    return path


class Reader:
    def __init__(self, info: dict[str, str] | None) -> None:
        self.info = info

    def seat_info(self, join: joinfile.Join) -> dict[str, str] | None:
        return self.info


def test_a_join_file_holds_a_seat_kubeconfig_registry_forwards_and_identity(tmp_path: Path) -> None:
    path = written(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("# shopbox seat join file")
    data = yaml.safe_load(path.read_text())
    assert data["cluster"] == {"id": "cluster-a", "server": "https://k8s.example:6443"}
    assert data["expires"] == "2030-05-04T17:00:00Z"
    assert data["registry"] == {"name": "localhost:31000", "username": "ana", "password": "pw",
                                "forward": {"namespace": "room", "pod": "registry-ana-0", "port": 5000}}
    assert data["forwards"]["edge"] == {"service": "envoy", "port": 8080, "url": "http://localhost:8080/qotm/"}
    config = data["kubeconfig"]
    context = config["contexts"][0]["context"]
    assert context["namespace"] == "room-ana" and config["current-context"] == config["contexts"][0]["name"]
    assert config["users"][0]["user"] == {"token": "tok.en.x"}
    assert config["clusters"][0]["cluster"] == {"server": "https://k8s.example:6443",
                                                "certificate-authority-data": "Y2E="}
    join = joinfile.load(path, NOW)
    assert (join.klass, join.seat, join.namespace, join.token) == ("room", "ana", "room-ana", "tok.en.x")


def test_an_external_registry_has_no_forward(tmp_path: Path) -> None:
    data = joinfile.build(SPEC, "ana", "room-ana", Registry("reg.example/room/ana", "ana", "pw"), "t", SPEC.ends)
    assert "forward" not in data["registry"]


def test_writing_the_same_file_again_changes_nothing(tmp_path: Path) -> None:
    path = written(tmp_path)
    before = path.stat().st_mtime_ns
    data = joinfile.build(SPEC, "ana", "room-ana", REGISTRY, "tok.en.x", SPEC.ends)
    assert joinfile.write(path, data) is False
    assert path.stat().st_mtime_ns == before
    assert joinfile.write(path, {**data, "seat": "bob"}) is True


def test_an_expired_join_file_is_refused_in_one_line(tmp_path: Path) -> None:
    path = written(tmp_path)
    with pytest.raises(ClassError) as caught:
        joinfile.load(path, SPEC.ends + timedelta(seconds=1))
    assert str(caught.value) == (f"{path}: expired at 2030-05-04T17:00:00Z (class room, seat ana): ask the instructor "
                                 "for a new join file")


@pytest.mark.parametrize(("change", "error"), [
    ({"kind": "Config"}, "not a shopbox join file (expected apiVersion class.shopbox.io/v1, kind SeatJoin)"),
    ({"cluster": {"server": "https://x"}}, "not a shopbox join file (no cluster.id)"),
    ({"expires": "tomorrow"}, "expires: 'tomorrow' is not an RFC 3339 time"),
    ({"kubeconfig": {"users": [{"name": "u"}]}}, "not a shopbox join file (its kubeconfig has no token)"),
])
def test_a_malformed_join_file_is_refused_naming_the_field(tmp_path: Path, change: dict, error: str) -> None:
    path = written(tmp_path, **change)
    with pytest.raises(ClassError) as caught:
        joinfile.load(path, NOW)
    assert str(caught.value) == f"{path}: {error}"


def test_a_file_that_is_not_yaml_or_missing_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "join.yaml"
    path.write_text("kind: [")
    with pytest.raises(ClassError, match="not YAML"):
        joinfile.load(path, NOW)
    with pytest.raises(ClassError, match="cannot read"):
        joinfile.load(tmp_path / "missing.yaml", NOW)


def test_a_join_file_for_another_cluster_is_refused(tmp_path: Path) -> None:
    join = joinfile.load(written(tmp_path), NOW)
    info = {"class": "room", "seat": "ana", "cluster-id": "cluster-b"}
    with pytest.raises(ClassError) as caught:
        joinfile.verify(join, Reader(info))
    assert str(caught.value).endswith("is cluster cluster-b, but this join file is for cluster cluster-a: it belongs "
                                      "to another cluster")


def test_a_join_file_whose_seat_is_gone_or_another_is_refused(tmp_path: Path) -> None:
    join = joinfile.load(written(tmp_path), NOW)
    with pytest.raises(ClassError, match="has no seat ana of class room"):
        joinfile.verify(join, Reader(None))
    with pytest.raises(ClassError, match="holds seat bob of class room"):
        joinfile.verify(join, Reader({"class": "room", "seat": "bob", "cluster-id": "cluster-a"}))
    info = {"class": "room", "seat": "ana", "cluster-id": "cluster-a", "registry": "localhost:31000"}
    assert joinfile.verify(join, Reader(info)) == info


def test_token_claims_read_a_jwt_payload_and_tolerate_garbage() -> None:
    assert joinfile.token_claims("x.eyJleHAiOiAxfQ.y") == {"exp": 1}
    assert joinfile.token_claims("garbage") == {}
