"""Classroom mode against a real API server (the local control plane, 10 simulated kwok nodes): `class up` for 50
seats, a re-run that changes nothing, `class status`, what a seat's token is refused and allowed (RBAC, quota,
limits, Pod Security and the admission policy, all enforced by the real kube-apiserver), join-check, `class reset`
of one seat, the real portal (a seat claimed over HTTP, the grid of 50 seats timed, a seat shown stuck in Chromium
as its own `lab` records failures) and `class down`. Times are printed (`make bench` compares them too). Network
isolation needs real pods and a policy engine: the workshop tier's, on the kind cluster."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import yaml

from classroom import progress
from classroom.portal.backend import STATUS_CACHE
from tests.classroom import portal_process
from tests.classroom.rendered import in_a_seat, rendered
from tests.cluster.launcher import KubeCluster, LocalCluster, PrerequisiteMissing
from tests.exercises.browser import VIEWPORT, chromium, screenshot
from tests.exercises.test_lab_cli import page as lab_page
from tests.platform.fixtures import require, require_command

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
SEATS = 50
NODES = 10
CLASS = "room"


class Room:
    """The class cluster, its kubeconfig and the join files of `class up`."""

    def __init__(self, cluster: LocalCluster, workdir: Path) -> None:
        self.cluster = cluster
        self.workdir = workdir
        self.up_seconds = 0.0

    def command(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """shopbox-class ARGS as the instructor runs it (KUBECONFIG: the cluster's admin)."""
        result = subprocess.run([sys.executable, "-m", "classroom", "--class", CLASS, *args], cwd=self.workdir,
                                env=self.cluster.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"shopbox-class {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def join_file(self, seat: str) -> Path:
        return self.workdir / f"class-{CLASS}" / f"{seat}.yaml"

    def seat(self, seat: str) -> KubeCluster:
        """kubectl with the seat's own kubeconfig, from its join file (a bound token, the seat namespace)."""
        path = self.workdir / f"{seat}.kubeconfig"
        if not path.exists():
            path.write_text(yaml.safe_dump(yaml.safe_load(self.join_file(seat).read_text())["kubeconfig"]))
            path.chmod(0o600)
        return KubeCluster(path)

    def versions(self) -> dict[str, str]:
        """Every object of the class (the kinds it applies) by kind/namespace/name, and what the class last applied
        to it: its field manager's entry (fields and time), which only a write by the class changes (controllers
        write the status of a quota or a policy meanwhile)."""
        found = {}
        for kind in ("namespaces", "serviceaccounts", "secrets", "configmaps", "services", "resourcequotas",
                     "limitranges", "roles", "rolebindings", "networkpolicies", "statefulsets",
                     "validatingadmissionpolicies", "validatingadmissionpolicybindings"):
            listing = self.cluster.kubectl_json("get", kind, "-A", "-l", f"class.shopbox.io/class={CLASS}")
            for item in listing["items"]:
                meta = item["metadata"]
                applied = [m for m in meta.get("managedFields", []) if m["manager"] == "shopbox-class"]
                found[f"{item['kind']}/{meta.get('namespace', '')}/{meta['name']}"] = json.dumps(applied)
        return found


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    require_command("kubectl")
    cluster = LocalCluster(nodes=NODES)
    try:
        cluster.start()
    except PrerequisiteMissing as exc:
        require(False, f"local Kubernetes cluster unavailable: {exc}")
    try:
        found = Room(cluster, tmp_path_factory.mktemp("class"))
        started = time.monotonic()
        found.command("up", str(SEATS), "--hours", "2")
        found.up_seconds = time.monotonic() - started
        yield found
    finally:
        cluster.stop()




def test_class_up_makes_50_seats_spread_over_the_10_nodes(room: Room, report: Callable[[str], None]) -> None:
    report(f"class cluster with {NODES} kwok nodes up in {room.cluster.startup_seconds:.1f} s; class up for {SEATS} "
           f"seats: {room.up_seconds:.1f} s")
    namespaces = room.cluster.kubectl_json("get", "namespaces", "-l", f"class.shopbox.io/class={CLASS}")["items"]
    assert len(namespaces) == SEATS + 1
    seat_ns = [n for n in namespaces if n["metadata"]["labels"]["class.shopbox.io/part"] == "seat"]
    assert all(n["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted" for n in seat_ns)
    assert len(list((room.workdir / f"class-{CLASS}").glob("seat-*.yaml"))) == SEATS

    def registries_ready() -> list[dict] | None:
        pods = room.cluster.kubectl_json("get", "pods", "-n", CLASS)["items"]
        ready = [p for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                        for c in p["status"].get("conditions", []))]
        return pods if len(ready) == SEATS else None

    pods = room.cluster.wait_for(f"{SEATS} registry pods ready", registries_ready, timeout=180)
    nodes = {p["spec"]["nodeName"] for p in pods}
    report(f"{SEATS} registry pods ready on {len(nodes)} of {NODES} nodes")
    assert len(nodes) >= NODES // 2  # spread (a topology spread constraint), not all on one node


def test_class_up_again_changes_nothing(room: Room, report: Callable[[str], None]) -> None:
    before = room.versions()
    joins = {p.name: p.read_bytes() for p in (room.workdir / f"class-{CLASS}").iterdir()}
    started = time.monotonic()
    result = room.command("up", str(SEATS))
    report(f"class up again for {SEATS} seats: {time.monotonic() - started:.1f} s (first: {room.up_seconds:.1f} s)")
    assert "nothing changed" in result.stderr and f"0 created, 0 changed, {len(before)} unchanged" in result.stderr
    assert room.versions() == before
    assert {p.name: p.read_bytes() for p in (room.workdir / f"class-{CLASS}").iterdir()} == joins


def test_class_status_reads_50_seats(room: Room, report: Callable[[str], None]) -> None:
    seat = room.seat("seat-07")  # the record as lab writes it, with the seat's own token
    now = datetime.now(UTC)
    data = progress.record(None, "4.3", True, now)
    for _ in range(3):
        data = progress.record(data, "5.1", False, now)
    seat.kubectl("apply", "-f", "-", input=json.dumps(progress.configmap(f"{CLASS}-seat-07", data)))
    started = time.monotonic()
    result = room.command("status", "-o", "json")
    report(f"class status for {SEATS} seats: {time.monotonic() - started:.2f} s (goal: 5 s)")
    rows = {row["seat"]: row for row in json.loads(result.stdout)}
    assert len(rows) == SEATS
    assert (rows["seat-07"]["reached"], rows["seat-07"]["failing"], rows["seat-07"]["failures"]) == ("4.3", "5.1", 3)
    assert rows["seat-01"]["quota"]["pods"] == "0/20"
    table = room.command("status").stdout.splitlines()
    assert len(table) == SEATS + 1 and table[0].startswith("SEAT")


# -- what a seat's token may and may not do --------------------------------------------------------------------

NETWORK_POLICIES = {
    "egress": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]},
    "namespace-selector": {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]},
    "ip-block": {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]},
}


def manifest(kind: str, name: str, body: dict, api_version: str = "v1") -> str:
    return json.dumps({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, **body})


def restricted_pod(name: str, cpu: str = "50m", **spec: object) -> dict:
    container = {"name": "c", "image": "localhost:30000/qotm:1",
                 "resources": {"requests": {"cpu": cpu, "memory": "32Mi"}, "limits": {"cpu": cpu, "memory": "64Mi"}},
                 "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}
    return {"spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 1000,
                                         "seccompProfile": {"type": "RuntimeDefault"}},
                     "containers": [container], **spec}}


REFUSED = [
    ("read another seat", ["get", "pods", "-n", f"{CLASS}-seat-02"], None, "forbidden"),
    ("write another seat", ["create", "configmap", "x", "-n", f"{CLASS}-seat-02"], None, "forbidden"),
    ("read the registries' secrets", ["get", "secret", "registry-seat-02", "-n", CLASS], None, "forbidden"),
    ("port-forward to another seat's registry", ["get", "pod", "registry-seat-02-0", "-n", CLASS], None, "forbidden"),
    ("a cluster-scoped object", ["create", "namespace", "mine"], None, "forbidden"),
    ("list nodes", ["get", "nodes"], None, "forbidden"),
    ("another seat's Namespace object", ["get", "namespace", f"{CLASS}-seat-02"], None, "forbidden"),
    ("its namespace's Pod Security", ["label", "namespace", f"{CLASS}-seat-01", "--overwrite",
                                      "pod-security.kubernetes.io/enforce=privileged"], None, "forbidden"),
    ("its quota", ["patch", "resourcequota", "seat", "-p", '{"spec":{"hard":{"pods":"999"}}}'], None, "forbidden"),
    ("its limits", ["delete", "limitrange", "seat"], None, "forbidden"),
    ("the class's egress policy", ["delete", "networkpolicy", "class-egress"], None, "belongs to class room"),
    ("the class's Role", ["patch", "role", "seat", "--type=json", "-p",
                          '[{"op":"remove","path":"/rules/0"}]'], None, "belongs to class room"),
    ("labelling its own object as the class's", ["apply", "-f", "-"],
     manifest("ConfigMap", "fake", {"metadata": {"name": "fake", "labels": {"class.shopbox.io/class": CLASS}}}),
     "cannot create or label objects as the class's"),
    *[(f"a NetworkPolicy with {what}", ["apply", "-f", "-"],
       manifest("NetworkPolicy", f"wide-{what}", {"spec": spec}, "networking.k8s.io/v1"), "forbidden")
      for what, spec in NETWORK_POLICIES.items()],
    ("a RoleBinding for everyone", ["create", "rolebinding", "all", "--role=seat", "--group=system:authenticated"],
     None, "may name only ServiceAccounts of its own namespace"),
    ("a binding of a ClusterRole", ["create", "rolebinding", "admin", "--clusterrole=admin",
                                    f"--serviceaccount={CLASS}-seat-01:default"], None,
     "attempting to grant RBAC permissions not currently held"),  # `bind` is the namespace's Roles' only
    ("a Role beyond its own rights", ["create", "role", "nodes", "--verb=list", "--resource=nodes"], None,
     "forbidden"),
    ("a LoadBalancer Service", ["create", "service", "loadbalancer", "lb", "--tcp=80"], None, "exceeded quota"),
    ("a NodePort Service", ["create", "service", "nodeport", "np", "--tcp=80"], None, "exceeded quota"),
    ("a Service with externalIPs", ["apply", "-f", "-"],
     manifest("Service", "ext", {"spec": {"ports": [{"port": 80}], "externalIPs": ["10.1.2.3"]}}),
     "may not set externalIPs"),
    ("a ServiceAccount token Secret", ["apply", "-f", "-"],
     manifest("Secret", "tok", {"type": "kubernetes.io/service-account-token",
                                "metadata": {"name": "tok", "annotations": {"kubernetes.io/service-account.name":
                                                                           "seat"}}}),
     "may not create ServiceAccount token Secrets"),
    ("a privileged pod", ["apply", "-f", "-"], manifest("Pod", "priv", {"spec": {"containers": [
        {"name": "c", "image": "x", "securityContext": {"privileged": True}}]}}), "violates PodSecurity"),
    ("a hostPath pod", ["apply", "-f", "-"], manifest("Pod", "hostpath", restricted_pod(
        "hostpath", volumes=[{"name": "h", "hostPath": {"path": "/"}}])), "violates PodSecurity"),
    ("a container over the limit range", ["apply", "-f", "-"], manifest("Pod", "big", restricted_pod("big", "3")),
     "maximum cpu usage per Container is 2"),
]


@pytest.mark.parametrize(("what", "args", "stdin", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_seat_token_is_refused(room: Room, what: str, args: list[str], stdin: str | None, reason: str) -> None:
    result = room.seat("seat-01").kubectl(*args, input=stdin, check=False)
    assert result.returncode != 0, f"{what}: allowed:\n{result.stdout}"
    assert reason in result.stderr, result.stderr


@pytest.mark.parametrize(("verb", "resource", "namespace", "name", "expected"), [
    ("create", "pods/exec", f"{CLASS}-seat-01", "", "yes"),
    ("create", "pods/portforward", f"{CLASS}-seat-01", "", "yes"),
    ("get", "pods/log", f"{CLASS}-seat-01", "", "yes"),
    ("create", "pods/portforward", CLASS, "registry-seat-01-0", "yes"),
    ("create", "pods/portforward", CLASS, "registry-seat-02-0", "no"),
    ("create", "pods/exec", f"{CLASS}-seat-02", "", "no"),
    ("get", "pods/log", f"{CLASS}-seat-02", "", "no"),
])
def test_what_a_seat_may_reach_outside_its_objects(room: Room, verb: str, resource: str, namespace: str, name: str,
                                                   expected: str) -> None:
    """exec, logs and port-forward (kwok has no kubelet to run them: the API server's authorization decides)."""
    kind, _, sub = resource.partition("/")
    args = ["auth", "can-i", verb, f"{kind}/{name}" if name else kind, *([f"--subresource={sub}"] if sub else [])]
    if namespace:
        args += ["-n", namespace]
    assert room.seat("seat-01").kubectl(*args, check=False).stdout.strip() == expected


def test_a_seat_can_apply_everything_forge_renders_for_pages_3_to_9(room: Room) -> None:
    """forge's own way (server-side apply), with the seat's token: RBAC (eds' and prometheus' Roles pass the
    escalation check), the admission policy (forge's NetworkPolicies are narrow), Pod Security restricted and the
    quota (everything of page 9 at once, qotm with three replicas) all admit what forge renders with the seat's
    forge.yaml; the local cluster's rendering (NodePorts) is refused."""
    text = rendered(f"{CLASS}-seat-03")
    seat = room.seat("seat-03")
    refused = seat.kubectl("apply", "--server-side", "--field-manager=forge", "--dry-run=server", "-f", "-",
                           input=text, check=False, timeout=120)
    assert refused.returncode != 0 and "services.nodeports=0" in refused.stderr  # as rendered for kind: NodePorts
    documents = in_a_seat(f"{CLASS}-seat-03")
    for doc in documents:
        if doc["metadata"]["name"] == "qotm" and doc["kind"] == "Deployment":
            doc["spec"]["replicas"] = 3  # page 5
    # forge dry-runs everything before it applies anything: eds' and prometheus' RoleBindings before their Roles exist
    dry = seat.kubectl("apply", "--server-side", "--field-manager=forge", "--dry-run=server", "-f", "-",
                       input=yaml.safe_dump_all(documents), check=False, timeout=120)
    assert dry.returncode == 0, dry.stderr
    result = seat.kubectl("apply", "--server-side", "--field-manager=forge", "-f", "-",
                          input=yaml.safe_dump_all(documents), check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "prometheus" in seat.kubectl("get", "role", "-o", "name").stdout
    seat.kubectl("get", "all")  # what participants type to look around
    seat.kubectl("get", "namespace", f"{CLASS}-seat-03")  # its own Namespace object (forge setup reads it)
    seat.kubectl("apply", "-f", "-", input=manifest("Pod", "hello", restricted_pod("hello")))

    def all_running() -> bool:
        """Every pod but postgres-0, whose claim no provisioner binds on this cluster (it has no storage)."""
        pods = [p for p in seat.kubectl_json("get", "pods")["items"] if p["metadata"]["name"] != "postgres-0"]
        return len(pods) >= 11 and all(p["status"].get("phase") == "Running" for p in pods)

    room.cluster.wait_for("the seat's pods running", all_running, timeout=120)
    assert seat.kubectl_json("get", "pvc", "data-postgres-0")["metadata"]["name"]


def test_the_quota_refuses_pods_beyond_it(room: Room) -> None:
    seat = room.seat("seat-04")
    seat.kubectl("apply", "-f", "-", input=manifest("Pod", "one", restricted_pod("one", "1")))
    result = seat.kubectl("apply", "-f", "-", input=manifest("Pod", "two", restricted_pod("two", "1")), check=False)
    assert result.returncode != 0 and "exceeded quota: seat" in result.stderr and "requests.cpu" in result.stderr


def test_forge_deploy_names_the_quota_and_the_namespace_when_pods_are_refused(room: Room) -> None:
    """forge's waiter reads the refusal (a Deployment's ReplicaFailure condition, a StatefulSet's FailedCreate
    events) and fails at once, in one line, instead of waiting for its timeout."""
    seat = room.seat("seat-06")
    for name in ("fill-1", "fill-2"):  # the seat's 2Gi of memory requests, used up
        pod = restricted_pod(name)
        pod["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "10m", "memory": "1Gi"},
                                                     "limits": {"cpu": "10m", "memory": "1Gi"}}
        seat.kubectl("apply", "-f", "-", input=manifest("Pod", name, pod))
    seat.kubectl("create", "secret", "generic", "postgres-credentials", "--from-literal=password=x")
    forge = str(Path(sys.executable).parent / "forge")
    for service, kind in (("jaeger", "Deployment/jaeger"), ("postgres", "StatefulSet/postgres")):
        started = time.monotonic()
        result = subprocess.run([forge, "deploy", service, "--timeout", "120s"], cwd=ROOT, env=seat.env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 1, result.stdout
        assert time.monotonic() - started < 60  # not the 120 s timeout
        assert result.stderr.strip().splitlines() == [
            f"error: {kind} failed: its pods are refused by ResourceQuota seat of namespace {CLASS}-seat-06: requested "
            "requests.memory=128Mi, used requests.memory=2Gi, limited requests.memory=2Gi (free some of it (forge "
            "list; forge delete a deployment you no longer need), or ask whoever runs the cluster for more; kubectl "
            "describe resourcequota shows it)"]


# -- join files ------------------------------------------------------------------------------------------------


def test_join_check_accepts_a_seats_file_and_refuses_another_clusters_or_an_expired_one(room: Room) -> None:
    good = room.command("join-check", str(room.join_file("seat-05")))
    assert f"seat seat-05 of class {CLASS}" in good.stdout
    data = yaml.safe_load(room.join_file("seat-05").read_text())
    other = room.workdir / "other-cluster.yaml"
    other.write_text(yaml.safe_dump({**data, "cluster": {**data["cluster"], "id": "another-cluster"}}))
    refused = room.command("join-check", str(other), check=False)
    assert refused.returncode == 1 and "it belongs to another cluster" in refused.stderr
    expired = room.workdir / "expired.yaml"
    expired.write_text(yaml.safe_dump({**data, "expires": "2020-01-01T00:00:00Z"}))
    refused = room.command("join-check", str(expired), check=False)
    assert refused.returncode == 1 and "expired at 2020-01-01T00:00:00Z" in refused.stderr
    forged = room.workdir / "forged.yaml"
    kubeconfig = data["kubeconfig"]
    kubeconfig["users"][0]["user"]["token"] = data["kubeconfig"]["users"][0]["user"]["token"][:-8] + "AAAAAAAA"
    forged.write_text(yaml.safe_dump({**data, "kubeconfig": kubeconfig}))
    refused = room.command("join-check", str(forged), check=False)
    assert refused.returncode == 1 and "refused the seat's token" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_bad_input_is_refused_and_nothing_is_applied(room: Room) -> None:
    before = room.versions()
    names = room.workdir / "names.txt"
    names.write_text("ana\nbob\nana\n")
    result = room.command("up", "--names", str(names), check=False)
    assert result.returncode == 2 and "names.txt:3: seat name 'ana' is a duplicate" in result.stderr
    result = room.command("add", "seat-01", check=False)
    assert result.returncode == 2 and "seat seat-01 exists already" in result.stderr
    room.cluster.kubectl("create", "namespace", f"{CLASS}-taken")
    result = room.command("add", "taken", check=False)
    assert result.returncode == 2 and f"namespace {CLASS}-taken exists and is not class {CLASS}'s" in result.stderr
    assert room.versions() == before


# -- reset and down --------------------------------------------------------------------------------------------


def test_reset_clears_one_seat_and_leaves_the_others_untouched(room: Room) -> None:
    seat = room.seat("seat-03")  # everything forge renders, applied above
    assert seat.kubectl_json("get", "pods")["items"]
    before = room.versions()
    others = {k: v for k, v in before.items() if "seat-03" not in k}
    result = room.command("reset", "seat-03")
    assert "objects deleted" in result.stderr and "0 created, 0 changed" in result.stderr
    for kind in ("deployments", "statefulsets", "pods", "services", "pvc", "networkpolicies", "roles"):
        names = {i["metadata"]["name"] for i in seat.kubectl_json("get", kind)["items"]}
        assert names <= {"class-egress", "class-ingress", "seat"}, (kind, names)
    assert room.versions() == before  # every class object of every seat as it was, this seat's too
    assert others
    assert "seat seat-03" in room.command("join-check", str(room.join_file("seat-03"))).stdout
    assert room.seat("seat-04").kubectl_json("get", "pods")["items"]  # another seat's pods are still there



def test_the_portal_serves_the_class_live(room: Room, report: Callable[[str], None], tmp_path: Path) -> None:
    """The real portal (gunicorn) on the class of 50 seats: a participant claims a seat and downloads its join file
    over HTTP; the grid page lists every seat (timed: goal 2 s); in Chromium the grid shows the seat stuck, without
    a reload, once the seat's own `lab` (its own token) has recorded the same failing check three times."""
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "05-edge.md").write_text(lab_page(5, "edge", ["One", "Two"]).replace("has 5.2",
                                                                                   "kubectl get configmap nothing"))
    with portal_process.portal(CLASS, room.workdir / f"class-{CLASS}", tmp_path / "portal.log",
                               room.cluster.env) as running:
        session, seat = running.claim("Ana Lovelace")
        assert session.get(f"{running.url}join/{seat}.yaml", timeout=30).content == room.join_file(seat).read_bytes()
        assert requests.get(f"{running.url}join/{seat}.yaml", timeout=30).status_code == 403  # another browser
        instructor = running.instructor()
        time.sleep(STATUS_CACHE + 0.1)  # a fresh read of the cluster, not the one the login's redirect made
        started = time.monotonic()
        grid = instructor.get(f"{running.url}instructor", timeout=60)
        seconds = time.monotonic() - started
        assert grid.text.count('<tr id="seat-') == SEATS
        report(f"the portal's grid page for {SEATS} seats: {seconds:.2f} s (goal: 2 s)")
        with chromium() as browser:
            tab = browser.new_page(viewport=VIEWPORT)
            tab.goto(f"{running.url}instructor/login?key={running.key}")
            row = tab.locator(f"#seat-{seat}")
            assert "Ana Lovelace" in row.inner_text() and "stuck" not in (row.get_attribute("class") or "")
            env = {**room.cluster.env, "KUBECONFIG": str(room.seat(seat).kubeconfig), "SHOPBOX_SEAT": seat,
                   "LAB_PAGES": str(pages)}
            for _ in range(3):
                done = subprocess.run([sys.executable, "-m", "exercises.lab", "check", "5.2"], env=env, cwd=ROOT,
                                      capture_output=True, text=True, timeout=60)
                assert done.returncode == 1 and done.stderr == "", done.stderr
            tab.wait_for_selector(f"#seat-{seat}.stuck", timeout=30_000)
            assert "5.2 x3" in row.inner_text() and "5. " in row.inner_text()
            screenshot(tab, "class-grid")


def test_class_down_leaves_nothing_of_the_class(room: Room, report: Callable[[str], None]) -> None:
    started = time.monotonic()
    result = room.command("down")
    report(f"class down for {SEATS} seats: {time.monotonic() - started:.1f} s")
    assert "nothing of the class is left" in result.stderr
    assert room.versions() == {}
    assert not room.cluster.kubectl_json("get", "namespaces", "-l", f"class.shopbox.io/class={CLASS}")["items"]
    assert room.command("join-check", str(room.join_file("seat-01")), check=False).returncode == 1
