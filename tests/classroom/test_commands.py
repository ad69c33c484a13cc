"""class up, add, reset, down and status through the in-memory API (tests/classroom/fake_api.py): what each
applies, deletes and reads, re-runs that change nothing, and bad input refused before anything is applied. The
same commands against a real API server: test_class_cluster.py."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from classroom import cli, down, progress, reset, status, up
from classroom.errors import ClassError, UsageError
from classroom.model import Registry
from classroom.names import LABEL_CLASS, LABEL_SEAT
from tests.classroom.fake_api import FakeClassAPI

pytestmark = pytest.mark.unit

NOW = datetime.now(UTC).replace(microsecond=0)
IMAGE = "registry:2"


def options(tmp_path: Path, seats: list[str], **changes: object) -> up.UpOptions:
    return up.UpOptions(**{"klass": "room", "seats": seats, "out": tmp_path / "join", "registry_image": IMAGE,
                           **changes})


def class_up(api: FakeClassAPI, tmp_path: Path, seats: list[str], **changes: object) -> up.UpResult:
    return up.up(api, options(tmp_path, seats, **changes), NOW, lambda _: None)


@pytest.fixture
def api() -> FakeClassAPI:
    found = FakeClassAPI()
    found.now = NOW
    found.put({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
               "metadata": {"name": "kubernetes", "namespace": "default",
                            "labels": {"kubernetes.io/service-name": "kubernetes"}},
               "endpoints": [{"addresses": ["172.18.0.2"]}], "ports": [{"name": "https", "port": 6443}]})
    return found


def labelled(api: FakeClassAPI, kind: str) -> list[str]:
    return sorted(f"{k[1]}/{k[2]}" for k, o in api.objects.items()
                  if k[0] == kind and (o["metadata"].get("labels") or {}).get(LABEL_CLASS) == "room")


# -- up --------------------------------------------------------------------------------------------------------


def test_up_makes_the_class_and_each_seat_with_its_registry_and_join_file(api: FakeClassAPI, tmp_path: Path) -> None:
    result = class_up(api, tmp_path, ["ana", "bob"], ends=NOW + timedelta(hours=3))
    assert labelled(api, "Namespace") == ["/room", "/room-ana", "/room-bob"]
    assert labelled(api, "StatefulSet") == ["room/registry-ana", "room/registry-bob"]
    assert labelled(api, "Role") == ["room-ana/seat", "room-bob/seat", "room/seat-ana", "room/seat-bob"]
    assert labelled(api, "NetworkPolicy") == ["room-ana/class-egress", "room-ana/class-ingress",
                                              "room-bob/class-egress", "room-bob/class-ingress"]
    assert labelled(api, "ValidatingAdmissionPolicy") == ["/room-seats.class.shopbox.io"]
    record = api.find("ConfigMap", "room", "class")["data"]
    assert record["ends"] == (NOW + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert record["cluster-id"] == api.find("Namespace", "", "kube-system")["metadata"]["uid"]
    egress = api.find("NetworkPolicy", "room-ana", "class-egress")["spec"]["egress"]
    assert {"ipBlock": {"cidr": "172.18.0.2/32"}} in [p for rule in egress for p in rule["to"]]
    assert sorted(api.tokens) == [("room-ana", "seat", 3 * 3600), ("room-bob", "seat", 3 * 3600)]
    assert [s.written for s in result.seats] == [True, True]
    path = tmp_path / "join" / "ana.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    join = yaml.safe_load(path.read_text())
    node_port = api.find("Service", "room", "registry-ana")["spec"]["ports"][0]["nodePort"]
    assert join["registry"]["name"] == f"localhost:{node_port}" == result.seats[0].registry
    pull = json.loads(base64.b64decode(
        api.find("Secret", "room-ana", "registry-pull")["data"][".dockerconfigjson"]))
    assert pull["auths"][f"localhost:{node_port}"]["password"] == join["registry"]["password"]
    assert join["kubeconfig"]["contexts"][0]["context"]["namespace"] == "room-ana"
    assert "created" in result.objects and not result.unchanged


def test_up_again_changes_nothing_and_keeps_passwords_tokens_and_join_files(api: FakeClassAPI,
                                                                             tmp_path: Path) -> None:
    class_up(api, tmp_path, ["ana", "bob"])
    files = {p.name: p.read_bytes() for p in (tmp_path / "join").iterdir()}
    versions = {k: o["metadata"]["resourceVersion"] for k, o in api.objects.items()}
    again = class_up(api, tmp_path, ["ana", "bob"])
    assert again.unchanged and again.objects.startswith("0 created, 0 changed")
    assert {k: o["metadata"]["resourceVersion"] for k, o in api.objects.items()} == versions
    assert {p.name: p.read_bytes() for p in (tmp_path / "join").iterdir()} == files
    assert len(api.tokens) == 2


def test_a_later_end_reissues_tokens_and_join_files_and_a_lost_join_file_is_rewritten(api: FakeClassAPI,
                                                                                      tmp_path: Path) -> None:
    class_up(api, tmp_path, ["ana"])
    later = class_up(api, tmp_path, ["ana"], ends=NOW + timedelta(hours=10))
    assert later.seats[0].written and api.tokens[-1] == ("room-ana", "seat", 10 * 3600)
    (tmp_path / "join" / "ana.yaml").unlink()
    again = class_up(api, tmp_path, ["ana"])
    assert again.seats[0].written and not again.unchanged
    assert api.find("ConfigMap", "room", "class")["data"]["ends"].startswith(
        (NOW + timedelta(hours=10)).strftime("%Y-%m-%dT%H"))  # the class keeps its end


def test_a_capped_token_lifetime_is_said_and_written_as_the_join_files_end(api: FakeClassAPI, tmp_path: Path) -> None:
    api.token_cap = 3600
    said: list[str] = []
    up.up(api, options(tmp_path, ["ana"]), NOW, said.append)
    assert any("caps token lifetimes" in line for line in said)
    expires = yaml.safe_load((tmp_path / "join" / "ana.yaml").read_text())["expires"]
    assert expires == (NOW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_loopback_api_server_is_pointed_out_and_server_goes_into_the_join_files(tmp_path: Path) -> None:
    api = FakeClassAPI(server="https://127.0.0.1:6443")
    said: list[str] = []
    up.up(api, options(tmp_path, ["ana"]), NOW, said.append)
    assert any("only this machine reaches" in line and "--server" in line for line in said)
    said.clear()
    up.up(api, options(tmp_path, ["ana"], server="https://10.0.0.5:6443"), NOW, said.append)
    assert not said
    join = yaml.safe_load((tmp_path / "join" / "ana.yaml").read_text())
    assert join["cluster"]["server"] == join["kubeconfig"]["clusters"][0]["cluster"]["server"] == "https://10.0.0.5:6443"


def test_an_external_registry_is_written_into_the_pull_secret_and_join_file(api: FakeClassAPI, tmp_path: Path) -> None:
    external = {"ana": Registry("reg.example/room/ana", "ana", "p1")}
    class_up(api, tmp_path, ["ana"], external=external, registry_image="")
    assert labelled(api, "StatefulSet") == []
    join = yaml.safe_load((tmp_path / "join" / "ana.yaml").read_text())
    assert join["registry"] == {"name": "reg.example/room/ana", "username": "ana", "password": "p1"}
    assert api.find("ConfigMap", "room", "class")["data"]["registry"] == "external"


@pytest.mark.parametrize(("prepare", "changes", "error"), [
    (None, {"external": {"ana": Registry("r.example/a", "a", "p")}}, "no entry for seat(s) bob"),
    ("foreign-seat", {}, "seat bob: namespace room-bob exists and is not class room's"),
    ("foreign-class", {}, "namespace room exists and is not class room's"),
    (None, {"ends": NOW + timedelta(minutes=5)}, "less than 10 minutes from now"),
    (None, {"registry_image": ""}, "no registry image"),
])
def test_bad_input_is_refused_before_anything_is_applied(api: FakeClassAPI, tmp_path: Path, prepare: str | None,
                                                         changes: dict, error: str) -> None:
    if prepare == "foreign-seat":
        api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "room-bob"}})
    if prepare == "foreign-class":
        api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "room"}})
    before = dict(api.objects)
    with pytest.raises(ClassError) as caught:
        class_up(api, tmp_path, ["ana", "bob"], **changes)
    assert error in str(caught.value) and "\n" not in str(caught.value)
    assert api.calls == 0 and api.objects == before
    assert not (tmp_path / "join").exists()


def test_the_registry_mode_cannot_change_under_a_class(api: FakeClassAPI, tmp_path: Path) -> None:
    class_up(api, tmp_path, ["ana"])
    calls = api.calls
    with pytest.raises(UsageError, match="uses per-seat registries"):
        class_up(api, tmp_path, ["ana"], external={"ana": Registry("r.example/a", "a", "p")})
    assert api.calls == calls


# -- add -------------------------------------------------------------------------------------------------------


def test_add_makes_one_more_seat_with_the_classs_end_and_refuses_an_existing_name(api: FakeClassAPI,
                                                                                  tmp_path: Path) -> None:
    class_up(api, tmp_path, ["ana"], ends=NOW + timedelta(hours=2))
    up.add(api, options(tmp_path, ["zoe"]), NOW, lambda _: None)
    assert labelled(api, "Namespace") == ["/room", "/room-ana", "/room-zoe"]
    assert api.tokens[-1] == ("room-zoe", "seat", 2 * 3600)
    calls = api.calls
    with pytest.raises(UsageError, match="seat ana exists already"):
        up.add(api, options(tmp_path, ["ana"]), NOW, lambda _: None)
    with pytest.raises(UsageError, match="class add takes the class's end"):
        up.add(api, options(tmp_path, ["yan"], ends=NOW + timedelta(hours=5)), NOW, lambda _: None)
    assert api.calls == calls


def test_add_without_a_class_says_so(api: FakeClassAPI, tmp_path: Path) -> None:
    with pytest.raises(ClassError, match="there is no class room on the cluster"):
        up.add(api, options(tmp_path, ["zoe"]), NOW, lambda _: None)


# -- reset -----------------------------------------------------------------------------------------------------


def participant(api: FakeClassAPI, namespace: str) -> None:
    for kind, name in (("Deployment", "qotm"), ("Service", "qotm"), ("Secret", "postgres-credentials"),
                       ("PersistentVolumeClaim", "data-postgres-0"), ("Role", "eds-endpointslice-reader")):
        api.put({"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": namespace,
                                                                "labels": {"app.kubernetes.io/name": name}}})
    api.put(progress.configmap(namespace, progress.record(None, "4.2", True, NOW)))


def test_reset_removes_what_the_participant_made_in_that_seat_only(api: FakeClassAPI, tmp_path: Path) -> None:
    class_up(api, tmp_path, ["ana", "bob"])
    participant(api, "room-ana")
    participant(api, "room-bob")
    bob = {k: o["metadata"]["resourceVersion"] for k, o in api.objects.items() if k[1] == "room-bob"}
    classes = {k: o["metadata"]["resourceVersion"] for k, o in api.objects.items()
               if (o["metadata"].get("labels") or {}).get(LABEL_SEAT) == "ana"}
    found = reset.reset(api, "room", "ana", IMAGE, lambda _: None, timeout=5)
    assert found.deleted == 6 and found.objects.startswith("0 created, 0 changed")
    left = sorted(f"{k[0]}/{k[2]}" for k in api.objects if k[1] == "room-ana")
    assert left == sorted(f"{k[0]}/{k[2]}" for k in classes if k[1] == "room-ana")
    assert {k: o["metadata"]["resourceVersion"] for k, o in api.objects.items() if k in classes} == classes
    assert {k: o["metadata"]["resourceVersion"] for k, o in api.objects.items() if k[1] == "room-bob"} == bob


def test_reset_of_an_unknown_seat_names_the_seats(api: FakeClassAPI, tmp_path: Path) -> None:
    class_up(api, tmp_path, ["ana"])
    with pytest.raises(ClassError, match=r"class room has no seat bob \(seats: ana\)"):
        reset.reset(api, "room", "bob", IMAGE, lambda _: None)


# -- down ------------------------------------------------------------------------------------------------------


def test_down_deletes_everything_of_the_class_and_only_that(api: FakeClassAPI, tmp_path: Path) -> None:
    class_up(api, tmp_path, ["ana", "bob"])
    participant(api, "room-ana")
    api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other", "labels": {LABEL_CLASS: "b"}}})
    assert down.down(api, "room", lambda _: None, timeout=5) == 3
    assert [k for k, o in api.objects.items() if (o["metadata"].get("labels") or {}).get(LABEL_CLASS) == "room"] == []
    assert not [k for k in api.objects if k[1].startswith("room")]
    assert api.find("Namespace", "", "other") is not None


def test_down_names_what_is_left(api: FakeClassAPI, tmp_path: Path) -> None:
    class_up(api, tmp_path, ["ana"])
    api.put({"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "stray", "namespace": "default", "labels": {LABEL_CLASS: "room"}}})
    with pytest.raises(ClassError, match=r"class room: 1 objects are left: ConfigMap/default/stray"):
        down.down(api, "room", lambda _: None, timeout=5)


# -- status ----------------------------------------------------------------------------------------------------


def pod(namespace: str, name: str, ready: bool, restarts: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "status": {"phase": "Running", "startTime": (NOW - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"name": "c", "restartCount": restarts}]}}


def test_status_reads_progress_pods_and_quota_of_each_seat(api: FakeClassAPI, tmp_path: Path) -> None:
    class_up(api, tmp_path, ["ana", "bob"])
    data = progress.record(None, "5.2", True, NOW - timedelta(minutes=1))
    data = progress.record(data, "5.3", False, NOW - timedelta(seconds=30))
    data = progress.record(data, "5.3", False, NOW - timedelta(seconds=10))
    api.put(progress.configmap("room-ana", data))
    api.put(pod("room-ana", "qotm-1", True, 0))
    api.put(pod("room-ana", "qotm-2", False, 4))
    quota = api.find("ResourceQuota", "room-ana", "seat")
    quota["status"] = {"hard": {"requests.cpu": "1600m", "pods": "20"}, "used": {"requests.cpu": "100m", "pods": "2"}}
    rows = status.status(api, "room")
    ana, bob = rows
    assert (ana.seat, ana.reached, ana.failing, ana.failures) == ("ana", "5.2", "5.3", 2)
    assert (ana.pods, ana.ready, ana.not_ready, ana.restarts) == (2, 1, ["qotm-2"], 4)
    assert ana.quota == {"requests.cpu": "100m/1600m", "pods": "2/20"}
    assert ana.last_activity == NOW - timedelta(seconds=10)
    assert (bob.reached, bob.pods, bob.last_activity) == ("", 0, None)
    table = status.table(rows, NOW).splitlines()
    assert table[0].split()[:3] == ["SEAT", "REACHED", "FAILING"]
    assert table[1].split()[:6] == ["ana", "5.2", "5.3", "(x2)", "1/2", "qotm-2"] and "10s ago" in table[1]
    assert json.loads(status.as_json(rows))[0]["last_activity"] == (NOW - timedelta(seconds=10)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def test_status_of_a_class_without_seats_says_so(api: FakeClassAPI) -> None:
    with pytest.raises(ClassError, match="class room has no seats"):
        status.status(api, "room")


# -- the command line ------------------------------------------------------------------------------------------


def run(api: FakeClassAPI, *argv: str) -> int:
    return cli.run(cli.parser().parse_args(argv), api, NOW)


def test_the_command_line_up_writes_the_table_and_status_reads_it_back(api: FakeClassAPI, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture) -> None:
    names = tmp_path / "room.txt"
    names.write_text("ana\nbob\n")
    assert run(api, "--class", "room", "up", "--names", str(names), "--hours", "2", "--out", str(tmp_path / "j"),
               "--registry-image", IMAGE) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].split() == ["SEAT", "NAMESPACE", "REGISTRY", "JOIN", "FILE"]
    assert "room-bob" in out and "(written)" in out and "2 seats until" in err
    assert run(api, "--class", "room", "up", "--names", str(names), "--out", str(tmp_path / "j"),
               "--registry-image", IMAGE) == 0
    assert "nothing changed" in capsys.readouterr().err
    assert run(api, "--class", "room", "status", "-o", "json") == 0
    assert [row["seat"] for row in json.loads(capsys.readouterr().out)] == ["ana", "bob"]


@pytest.mark.parametrize(("argv", "error"), [
    (["up"], "needs the number of seats N or --names FILE"),
    (["up", "3", "--names", "x"], "needs the number of seats N or --names FILE"),
    (["up", "3", "--until", "yesterday"], "--until 'yesterday': expected HH:MM or an ISO 8601 time"),
    (["up", "3", "--until", "2001-01-01T00:00Z"], "has passed"),
    (["up", "3", "--hours", "-1"], "expected a positive number"),
    (["add", "Zoe"], "seat name 'Zoe' is not a DNS label"),
    (["up", "3", "--sizes", "no-such-sizes.yaml"], "no-such-sizes.yaml: cannot read"),
])
def test_bad_command_lines_are_usage_errors_before_anything_is_applied(api: FakeClassAPI, argv: list[str],
                                                                       error: str) -> None:
    with pytest.raises(UsageError, match=error.replace("(", r"\(").replace(")", r"\)")):
        run(api, *argv)
    assert api.calls == 0


def test_main_prints_one_line_and_exits_2_for_a_bad_class_name_and_1_for_a_bad_join_file(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["--class", "Room", "status"]) == 2
    assert capsys.readouterr().err.strip().startswith("shopbox-class: error: class name 'Room' is not a DNS label")
    assert cli.main(["join-check", str(tmp_path / "missing.yaml")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"shopbox-class: error: {tmp_path}/missing.yaml: cannot read")


def test_until_accepts_a_time_of_day_and_an_iso_time() -> None:
    morning = datetime(2030, 5, 4, 6, 0, tzinfo=UTC)
    assert cli.parse_until("2030-05-04T17:30+02:00", morning) == datetime(2030, 5, 4, 15, 30, tzinfo=UTC)
    later = cli.parse_until("23:59", datetime.now(UTC).astimezone().replace(hour=0, minute=1))
    assert later.astimezone().strftime("%H:%M") == "23:59"
