"""Classroom mode from the participants' side, on the class cluster (3 real nodes, kube-router enforcing
NetworkPolicy, the API server the only address other Docker networks reach: tests/class_cluster/cluster.py):

1. `./shopbox.sh class up 3` as the instructor; three participants' checkouts each `./shopbox.sh join` their seat's
   file (docs/instructor.md). No node address answers the joined shells; `join FILE doctor` is all OK.
2. With QOTM, the edge and Prometheus deployed by forge in every seat (pages 4-6's solves), each seat's edge and
   Prometheus answer its shell (`forge url`) and the host's browser addresses through the seat's forwarder, whose
   only connections out are to the API server; the pods' own addresses answer neither.
3. The cross-seat matrix: from seat A's credentials and pods against seat B, every case refused (printed as a
   table with counts).
3b. With SHOPBOX_CLASS_REPLAY=1 only: pages 3-7 replayed in the 3 seats at the same time, then 8-9 in one, while
   `class status` and the portal's grid show each seat at the page it has reached; a seat broken on purpose shown
   stuck, the diff naming the broken object; pages 3-7 in one seat alone as the baseline.
4. `class reset` of one seat leaves the two others untouched; `class down` leaves nothing of the class.

Numbers printed: class up, join to a ready shell, the deploys, the matrix's cases, reset and down; with the replay,
its times per seat and page against the baseline, and what the instructor saw over time.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from classroom.portal.backend import STATUS_CACHE
from exercises.lab import course
from exercises.lab.page import Page
from exercises.lab.replay import PageReport, ReplayError, replay
from exercises.lab.shell import Result, Session
from tests.class_cluster.cluster import METADATA_IP, ClassCluster
from tests.class_cluster.progress_watch import (
    GRID,
    STATUS,
    Shown,
    Watcher,
    grid_shown,
    page_number,
    problems,
    status_shown,
    timeline,
)
from tests.classroom import portal_process
from tests.exercises.browser import VIEWPORT, chromium, screenshot
from tests.kind import node_image, standins
from tests.platform.base_images import ROOT
from tests.platform.procs import free_ports
from tests.shopbox import offline_image
from tests.workshop.fixtures import OFFLINE_BUILD, _workspace
from tests.workshop.test_workshop_pages import ScriptsInShell

pytestmark = pytest.mark.workshop

CLASS = "shopbox"  # the default class name: the instructor guide's commands name none
SEATS = ("seat-01", "seat-02", "seat-03")
PAGES = course.load(ROOT / "exercises")
TOGETHER = range(3, 8)  # pages every seat replays at the same time
ON_ALONE = range(8, 10)  # and the first seat goes on with
WATCH_EVERY = 20.0  # seconds between two reads of `class status` and of the grid during the replays
# The seat broken on purpose: the step its participant is stuck at, the object deleted (whose absence that step's
# check sees and its solve's dry run shows), and the forge deploy that makes it again.
STUCK_STEP = "7.3"
STUCK_OBJECT = ("ConfigMap", "envoy")
STUCK_REPAIR = "envoy-canary/envoy"


@dataclass
class Seat:
    """A participant's checkout, joined to one seat."""

    name: str
    root: Path
    env: dict[str, str]
    ports: dict[str, int]
    log: Path

    @property
    def join_file(self) -> str:
        return f"class-{CLASS}/{self.name}.yaml"  # as handed out: in the checkout, relative

    @property
    def namespace(self) -> str:
        return f"{CLASS}-{self.name}"

    @property
    def forwarder(self) -> str:
        return f"shopbox-seat-{CLASS}-{self.name}"

    def join_argv(self, *command: str) -> list[str]:
        return ["bash", str(self.root / "shopbox.sh"), "join", self.join_file, "run", "--", *command]

    def shopbox(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _shopbox(self.root, self.env, args, timeout, check)

    def sh(self, script: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A line in the seat's joined shell, as its participant types it."""
        return self.shopbox("join", self.join_file, "run", "--", "bash", "-c", script, timeout=timeout, check=check)


@dataclass
class Room:
    cluster: ClassCluster
    instructor: Path
    env: dict[str, str]
    seats: list[Seat]
    timings: dict[str, float] = field(default_factory=dict)

    def class_command(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """`./shopbox.sh class ARGS` in the instructor's checkout, with the cluster's admin kubeconfig."""
        return _shopbox(self.instructor, self.env, ("class", *args), timeout, check=True)


def _shopbox(root: Path, env: dict[str, str], args: tuple[str, ...], timeout: float,
             check: bool) -> subprocess.CompletedProcess[str]:
    """`./shopbox.sh ARGS` in the checkout `root`; with `check`, a non-zero exit fails with its output."""
    proc = subprocess.run(["bash", str(root / "shopbox.sh"), *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"{root.name}: ./shopbox.sh {' '.join(args)} exited {proc.returncode}\n"
                             f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}")
    return proc


def _environment(shell_image: str, versions: Path, cache: Path) -> dict[str, str]:
    """The test machine's environment without a developer's own shopbox, kubectl or forge settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SHOPBOX_")
           and key not in ("KUBECONFIG", "CANARY", "FORGE_PROFILE", "DOCKER_HOST", "NO_COLOR")}
    env.update(SHOPBOX_VERSIONS_FILE=str(versions), SHOPBOX_IMAGE=shell_image, SHOPBOX_CACHE=str(cache))
    return env


@pytest.fixture(scope="module")
def room(class_cluster: ClassCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    work = tmp_path_factory.mktemp("classroom")
    shell = offline_image.build()
    versions = node_image.versions_file()
    class_cluster.load_images(*standins.images())
    base = _environment(shell, versions, work / "cache")
    instructor = work / "instructor"
    instructor.mkdir()
    _workspace(instructor)
    room = Room(class_cluster, instructor, {**base, "KUBECONFIG": str(class_cluster.kubeconfig)}, [])
    for name in SEATS:
        root = work / name
        root.mkdir()
        _workspace(root)
        edge, prometheus = free_ports(2)
        room.seats.append(Seat(name, root, {**base, "SHOPBOX_EDGE_PORT": str(edge),
                                            "SHOPBOX_PROMETHEUS_PORT": str(prometheus)},
                               {"edge": edge, "prometheus": prometheus}, work / f"{name}.log"))
    try:
        yield room
    finally:
        subprocess.run(["bash", str(instructor / "shopbox.sh"), "class", "down"], cwd=instructor, env=room.env,
                       capture_output=True, timeout=900, stdin=subprocess.DEVNULL)
        room.seats[0].shopbox("down", check=False)  # the forwarders, the local registry and the kind network


# -- 1. class up, join, and nothing but the API server ----------------------------------------------------------------


def test_class_up_then_three_shells_join_and_reach_the_cluster_through_the_api_server_only(room: Room,
                                                                                         report: Any) -> None:
    started = time.monotonic()
    room.class_command("up", str(len(SEATS)), "--hours", "3")
    room.timings["class up (3 seats)"] = time.monotonic() - started
    for seat in room.seats:
        handed = room.instructor / f"class-{CLASS}" / f"{seat.name}.yaml"
        (seat.root / f"class-{CLASS}").mkdir(exist_ok=True)
        shutil.copy2(handed, seat.root / seat.join_file)  # the participant downloads their file into the checkout
    joins = []
    for seat in room.seats:
        started = time.monotonic()
        seat.sh("kubectl get --raw /readyz >/dev/null && forge --version >/dev/null")
        joins.append(time.monotonic() - started)
    started = time.monotonic()
    room.seats[0].sh("true")
    again = time.monotonic() - started

    server = room.cluster.server.split("//", 1)[1]  # the API server's address in the join files
    api = server.rsplit(":", 1)[0]
    nodes = sorted(room.cluster.nodes.values())
    for seat in room.seats:
        probe = " ; ".join(_node_answers(address) for address in [*(f"{ip}:6443" for ip in nodes), server])
        out = seat.sh(f"kubectl config view --minify -o jsonpath='{{..namespace}}'; echo; echo $REGISTRY; "
                      f"{probe}; true").stdout.splitlines()
        assert out[0] == seat.namespace and out[1].startswith("localhost:3"), out
        # No node answers the shell (an API server or a kubelet on a node's address); the probe itself sees the
        # API server at the address of the join file.
        assert [line for line in out if line.startswith("reached")] == [f"reached {server}"], out
        # The forwarder's own connections out: the API server only (its kubectl tunnels), and the local registry.
        remote = _remote_addresses(seat.forwarder)
        assert remote - {api, "127.0.0.1"} <= {_address("shopbox-registry")}, remote
        assert not remote & set(nodes), remote
    doctor = room.seats[0].shopbox("join", room.seats[0].join_file, "doctor")
    checks = {line[7:].split()[0]: line[1:5].strip() for line in doctor.stdout.splitlines() if line.startswith("[")}
    assert {name: checks.get(name) for name in ("join-file", "api-server", "token", "seat", "registry", "quota")} == \
        dict.fromkeys(("join-file", "api-server", "token", "seat", "registry", "quota"), "OK"), doctor.stdout
    report(f"class up (3 seats) {room.timings['class up (3 seats)']:.0f} s; join to a ready shell (kubectl and "
           f"forge answering): {', '.join(f'{s:.1f} s' for s in joins)} (first join of each seat: forwarder "
           f"started), {again:.1f} s with its forwarder kept")


def _node_answers(address: str) -> str:
    """A shell line printing `reached ADDRESS` when a Kubernetes API server answers at ADDRESS, and `reached IP:10250`
    when a kubelet answers on that host. By what answered, not by curl's exit status: this machine's network answers
    HTTP 404 for any address it does not route itself."""
    host = address.rsplit(":", 1)[0]
    kubelet = f"curl -sk -o /dev/null -w '%{{http_code}}' --connect-timeout 3 https://{host}:10250/healthz"
    return (f"{{ curl -sk --connect-timeout 3 https://{address}/version | grep -q gitVersion && "
            f"echo reached {address}; test \"$({kubelet})\" = 401 && echo reached {host}:10250; true; }}")


def _address(container: str) -> str:
    return subprocess.run(["docker", "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} "
                           "{{end}}", container], capture_output=True, text=True, check=True).stdout.split()[0]


def _remote_addresses(container: str) -> set[str]:
    """The remote IPv4 addresses of the container's established TCP connections (/proc/net/tcp)."""
    table = subprocess.run(["docker", "exec", container, "cat", "/proc/net/tcp"], capture_output=True, text=True,
                           check=True).stdout.splitlines()[1:]
    found = set()
    for row in table:
        fields = row.split()
        if fields[3] != "01":  # ESTABLISHED
            continue
        raw = fields[2].split(":")[0]
        found.add(".".join(str(int(raw[i:i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


# -- 2-3. the edge and Prometheus; the cross-seat matrix --------------------------------------------------------------


@dataclass
class Case:
    what: str
    outcome: str
    refused: bool


DEPLOY = ("forge setup --yes && forge deploy qotm && forge deploy envoy-canary/auth && forge deploy envoy-canary/envoy "
          "&& forge deploy prometheus-canary")  # pages 4, 5 and 6's solves


@pytest.fixture(scope="module")
def deployed(room: Room) -> Room:
    """QOTM, auth, the edge and Prometheus deployed by forge in every seat, from its joined shell (pages 4-6's
    solves), the 3 seats at the same time (as a class does; one after the other took 124 s of the cold make test's
    budget): what the matrix reaches for in another seat and what a reset must clear or leave."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(room.seats)) as pool:
        list(pool.map(lambda seat: seat.sh(DEPLOY, timeout=900), room.seats))
    room.timings["forge setup, deploy qotm, auth, envoy, prometheus in 3 seats"] = time.monotonic() - started
    return room


def test_the_edge_and_prometheus_answer_the_shell_and_the_host_through_the_api_server_only(deployed: Room,
                                                                                           report: Any) -> None:
    """Each seat's edge and Prometheus answer its shell (`forge url`) and the host's browser addresses
    (SHOPBOX_EDGE_URL, SHOPBOX_PROMETHEUS_URL), while the seat's pods and nodes answer neither: every byte goes
    through the forwarder's tunnels, whose only connections out are to the API server."""
    room = deployed
    api = room.cluster.server.split("//", 1)[1].rsplit(":", 1)[0]
    nodes = set(room.cluster.nodes.values())
    for seat in room.seats:
        pods = room.cluster.kubectl_json("get", "pods", "-n", seat.namespace)["items"]
        direct = {p["metadata"]["name"]: p["status"]["podIP"] for p in pods
                  if p["metadata"].get("labels", {}).get("app.kubernetes.io/name") in ("envoy", "prometheus")}
        assert len(direct) == 2, direct
        # What answered, not curl's exit status (this machine's network answers 404 for addresses it does not route).
        probe = " ; ".join(f"curl -s --connect-timeout 3 http://{ip}:{port}{path} | grep -q {expect} && "
                           f"echo reached {ip}:{port}" for ip in direct.values()
                           for port, path, expect in ((8080, "/qotm/", "quote"), (9090, "/-/ready", "Prometheus")))
        out = seat.sh('curl -sf "$(forge url envoy)/qotm/" && curl -sf "$(forge url prometheus)/-/ready" && '
                      f'echo "$SHOPBOX_EDGE_URL $SHOPBOX_PROMETHEUS_URL"; {probe}; true').stdout
        assert "quote" in out and "Prometheus" in out, out
        assert not [line for line in out.splitlines() if line.startswith("reached")], out
        edge, prometheus = out.strip().splitlines()[-1].split()
        assert (edge, prometheus) == (f"http://localhost:{seat.ports['edge']}",
                                      f"http://localhost:{seat.ports['prometheus']}"), out
        for url, expect in ((edge + "/qotm/", "quote"), (prometheus + "/-/ready", "Prometheus")):  # the browser
            with urllib.request.urlopen(url.replace("localhost", "127.0.0.1"), timeout=20) as answer:
                assert answer.status == 200 and expect in answer.read().decode(), url
        remote = _remote_addresses(seat.forwarder)
        assert api in remote and not remote & nodes, remote  # tunnels open, to the API server
        assert remote - {api, "127.0.0.1"} <= {_address("shopbox-registry")}, remote
    report(f"the 3 seats' edge and Prometheus answered their shells (forge url) and the host (127.0.0.1) through "
           f"their forwarders' tunnels to the API server {api} only")


def _restricted_pod(name: str, image: str, cpu: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "c", "image": image, "command": ["sleep", "3600"],
                        "resources": {"requests": {"cpu": cpu, "memory": "16Mi"},
                                      "limits": {"cpu": cpu, "memory": "16Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": False,
                                            "capabilities": {"drop": ["ALL"]}}}]}}


def _millicores(value: str) -> int:
    return int(value[:-1]) if value.endswith("m") else int(float(value) * 1000)


def test_seat_a_cannot_read_change_reach_or_push_over_seat_b(deployed: Room, report: Any) -> None:
    room = deployed
    a, b = room.seats[0], room.seats[1]
    cases: list[Case] = []
    forbidden = ("Forbidden", "forbidden", "cannot")
    with Session(a.root, a.env, a.join_argv("bash")) as shell:
        run = ScriptsInShell(shell)

        def as_a(what: str, command: str, *refusals: str) -> None:
            done = run(command, timeout=120)
            text = done.output.strip()
            last = text.splitlines()[-1] if text else f"exit {done.code}"
            cases.append(Case(what, last[:150], done.code != 0 and any(r in text for r in refusals or forbidden)))

        ns_b = b.namespace
        as_a("read B's pods", f"kubectl get pods -n {ns_b}")
        as_a("read B's Secret", f"kubectl get secret registry-pull -n {ns_b} -o yaml")
        as_a("change B's Deployment", f"kubectl scale deployment qotm -n {ns_b} --replicas=0")
        as_a("delete B's pods", f"kubectl delete pods --all -n {ns_b}")
        as_a("exec into B's pod", f"kubectl exec -n {ns_b} deploy/qotm -- true")
        as_a("B's logs", f"kubectl logs -n {ns_b} deploy/qotm")
        as_a("port-forward to B's pod", f"timeout 20 kubectl port-forward -n {ns_b} deploy/qotm 18080:8080")
        as_a("port-forward to B's registry", f"timeout 20 kubectl port-forward -n {CLASS} "
             f"pod/registry-{b.name}-0 15000:5000")
        registry_a = yaml.safe_load((a.root / a.join_file).read_text())["registry"]
        # B's image as B's pods run it; B's registry published on this machine by B's forwarder (as if A had found
        # a way to it): A pushes its own QOTM image over it, without credentials for it, then with A's own.
        image_b = room.cluster.kubectl_json("get", "deployment", "qotm", "-n", ns_b)["spec"]["template"]["spec"][
            "containers"][0]["image"]
        image_a = room.cluster.kubectl_json("get", "deployment", "qotm", "-n", a.namespace)["spec"]["template"][
            "spec"]["containers"][0]["image"]
        registry_b = image_b.split("/", 1)[0]
        assert registry_b != registry_a["name"], (registry_a, image_b)
        over = (f"{{ docker image inspect {image_a} >/dev/null 2>&1 || docker pull -q {image_a}; }} && "
                f"docker tag {image_a} {image_b} && docker push {image_b}")
        as_a("push over B's image (no credentials for it)", over, "no basic auth credentials", "unauthorized")
        as_a("push over B's image with A's credentials",
             f"echo {shlex.quote(registry_a['password'])} | docker login {registry_b} -u "
             f"{registry_a['username']} --password-stdin && {over}", "unauthorized", "401")

        client = run("kubectl get pods -l app.kubernetes.io/name=qotm -o jsonpath='{.items[0].metadata.name}'")
        assert client.code == 0 and client.output.strip(), client.output
        connect = f"kubectl exec {client.output.strip()} -- python3 -c {shlex.quote(CONNECT)}"
        api_ok = run(f"{connect} kubernetes.default.svc 443", timeout=60)
        assert "answered" in api_ok.output, api_ok.output  # the client connects at all: the API server is allowed
        for what, host, port in _network_targets(room, b):
            done = run(f"{connect} {host} {port}", timeout=60)
            lines = done.output.strip().splitlines()
            outcome = lines[-1] if lines else f"exit {done.code}"
            cases.append(Case(f"A's pod -> {what} ({host}:{port})", outcome, outcome.startswith("no answer")))

        policy = ('{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"reach-b"},'
                  '"spec":{"podSelector":{},"policyTypes":["Egress"],"egress":[{"to":[{"namespaceSelector":'
                  f'{{"matchLabels":{{"kubernetes.io/metadata.name":"{ns_b}"}}}}}}]}}]}}}}')
        as_a("widen its own NetworkPolicy to reach B", f"echo {shlex.quote(policy)} | kubectl apply -f -",
             "denied", "ValidatingAdmissionPolicy")
        for what, spec in (("a privileged pod", '{"privileged": true}'), ("a hostPath pod", None)):
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sneaky"}, "spec": {
                "containers": [{"name": "c", "image": image_a,
                                **({"securityContext": json.loads(spec)} if spec else {}),
                                **({} if spec else {"volumeMounts": [{"name": "root", "mountPath": "/host"}]})}],
                **({} if spec else {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]})}}
            as_a(what, f"echo {shlex.quote(json.dumps(pod))} | kubectl apply -f -", "PodSecurity")
        service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "public"},
                   "spec": {"type": "LoadBalancer", "selector": {"app": "x"}, "ports": [{"port": 80}]}}
        as_a("a LoadBalancer Service", f"echo {shlex.quote(json.dumps(service))} | kubectl apply -f -",
             "exceeded quota")
        as_a("read the nodes (cluster-scoped)", "kubectl get nodes")

        # Exceeding the quota: a pod (pending or not, the quota counts it) takes the CPU requests left, then forge
        # scales QOTM up; its error names the quota and the namespace in one line. Then A's QOTM as it was.
        quota = room.cluster.kubectl_json("get", "resourcequota", "seat", "-n", a.namespace)["status"]
        left = _millicores(quota["hard"]["requests.cpu"]) - _millicores(quota["used"]["requests.cpu"])
        fill = _restricted_pod("fill", image_a, f"{left}m")
        done = run(f"echo {shlex.quote(json.dumps(fill))} | kubectl apply -f -")
        assert done.code == 0, done.output
        done = run("forge deploy qotm --set profiles.default.replicas=3", timeout=300)
        errors = [line for line in done.output.splitlines() if line.startswith("error: ")]
        line = errors[-1] if errors else done.output.strip().splitlines()[-1]
        cases.append(Case("exceed the quota with forge deploy", line[:150], done.code != 0 and len(errors) == 1
                          and "ResourceQuota seat" in line and f"namespace {a.namespace}" in line))
        width = max(len(c.what) for c in cases)
        table = [f"{'case':<{width}}  refused  outcome"] + [
            f"{c.what:<{width}}  {'yes' if c.refused else 'NO':<7}  {c.outcome}" for c in cases]
        report("\n".join([f"forge setup, deploy qotm, auth, envoy, prometheus in the 3 seats at the same time: "
                          f"{room.timings['forge setup, deploy qotm, auth, envoy, prometheus in 3 seats']:.0f} s",
                          f"cross-seat matrix, seat A ({a.name}) against seat B ({b.name}): {len(cases)} cases "
                          f"tried, {sum(c.refused for c in cases)} refused", *table]))

        # A's QOTM as it was, the quota freed. The Deployment's status may still hold the quota's refusal (the
        # controllers keep it until the ReplicaSet's next try, which backs off to minutes): forge's waiter tells it
        # from a refusal of this deploy (forge/cluster/refusal.py) and waits.
        done = run("kubectl delete pod fill", timeout=120)
        assert done.code == 0, done.output
        done = run("forge deploy qotm", timeout=300)
        assert done.code == 0, done.output

    assert all(c.refused for c in cases), "\n".join(table)


CONNECT = """\
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
    print("answered")
except OSError as err:
    print(f"no answer: {err}")
"""


def _network_targets(room: Room, b: Seat) -> list[tuple[str, str, int]]:
    """B's pods and Services, B's registry (Service and NodePort on a node), the metadata address."""
    cluster = room.cluster
    pods = cluster.kubectl_json("get", "pods", "-n", b.namespace)["items"]
    qotm = next(p for p in pods if p["metadata"]["labels"].get("app.kubernetes.io/name") == "qotm")
    envoy = cluster.kubectl_json("get", "service", "envoy", "-n", b.namespace)
    registry = cluster.kubectl_json("get", "service", f"registry-{b.name}", "-n", CLASS)
    node = sorted(cluster.nodes.values())[0]
    return [("B's qotm pod", qotm["status"]["podIP"], 8080),
            ("B's envoy Service", envoy["spec"]["clusterIP"], 8080),
            ("B's registry Service", registry["spec"]["clusterIP"], 5000),
            ("B's registry NodePort on a node", node, int(registry["spec"]["ports"][0]["nodePort"])),
            ("the cloud metadata address", METADATA_IP, 80)]


# -- 3b. pages 3-7 in three seats at the same time, 8-9 in one; what the instructor sees meanwhile ---------------------


def _shell(seat: Seat) -> list[str]:
    """The seat's joined shell; page 1's plain `docker build` gets the offline base through BASH_ENV, as in the
    single-seat replay."""
    return seat.join_argv("env", f"BASH_ENV={seat.root / OFFLINE_BUILD}", "bash")


@dataclass
class LabChecks:
    """The replay's checks as the participant runs them: `lab check STEP` in the seat's joined shell (the same
    script, the same verdict), which records each one in the seat's progress record for `class status` and the grid
    (exercises/lab/record.py). A check failing after its step also gets the script's own output, for the error."""

    scripts: Session
    page: Page
    warnings: list[str]  # lab's own lines (`lab: progress not recorded ...`), with the step
    calls: Counter[str] = field(default_factory=Counter)

    def __call__(self, script: str, timeout: float = 300) -> Result:
        steps = [s for s in self.page.steps if s.check.text == script]
        if len(steps) != 1:
            raise ReplayError(f"{self.page.path.name}: {len(steps)} steps have the check {script[:60]!r}")
        step = steps[0]
        self.calls[step.id] += 1
        done = self.scripts.run(f"lab check {step.id} < /dev/null", timeout + 30)
        self.warnings += [f"{step.id}: {line}" for line in done.output.splitlines() if line.startswith("lab: ")]
        if done.code not in (0, 1):
            raise ReplayError(f"{self.page.path.name}:{step.check.number}: `lab check {step.id}` exited {done.code}\n"
                              f"{done.output}")
        if done.code and self.calls[step.id] > 1:  # after the step (the first call is the one before it)
            raw = ScriptsInShell(self.scripts)(script, timeout)
            return Result(done.code, f"{done.output}--- the check itself (exit {raw.code}):\n{raw.output}")
        return done


def _replay(seat: Seat, pages: list[Page], warnings: list[str]) -> tuple[float, list[PageReport]]:
    """Every page in a fresh joined shell (a new terminal), checks through `lab check` in one more; the time and the
    reports. Every line run goes to the seat's log with the time; a failure names the seat, the page and the line."""
    with seat.log.open("a") as log, Session(seat.root, seat.env, _shell(seat)) as scripts:
        def say(line: str) -> None:
            print(time.strftime("%H:%M:%S"), line, file=log, flush=True)

        started, reports = time.monotonic(), []
        for page in pages:
            with Session(seat.root, seat.env, _shell(seat)) as shell:
                try:
                    reports.append(replay(page, shell, LabChecks(scripts, page, warnings), lambda _: None, say))
                except ReplayError as err:
                    raise ReplayError(f"{seat.name}: {err}") from None
        return time.monotonic() - started, reports


def _pages(numbers: range) -> list[Page]:
    return [p for p in PAGES if p.number in numbers]


def _reset(seat: Seat, page: Page) -> float:
    """`lab reset N` in the seat's joined shell; its seconds."""
    started = time.monotonic()
    with Session(seat.root, seat.env, _shell(seat)) as scripts:
        done = course.reset(PAGES, page, ScriptsInShell(scripts), lambda _: None, lambda _: None)
    if done.code != 0:
        raise ReplayError(f"{seat.name}: lab reset {page.number} failed: {done.output}")
    return time.monotonic() - started


def _timeline(name: str, seconds: float, reports: list[PageReport]) -> str:
    return f"  {name}: {seconds:.0f} s (" + ", ".join(f"page {r.page.number} {r.seconds:.0f} s" for r in reports) + ")"


def _drifts(reports: list[PageReport]) -> list[str]:
    """Where a page shows an output the command did not print (the first line of each diff)."""
    return [f"  output differs from the page: {d.splitlines()[0]}" for r in reports for d in r.drifted]


@contextmanager
def _portal(room: Room, work: Path) -> Iterator[portal_process.Portal]:
    """The instructor's portal (gunicorn on 127.0.0.1) against the class, from this repository; forge on its PATH
    for the diagnosis' dry runs."""
    env = {**room.env, "PATH": f"{Path(sys.executable).parent}:{room.env.get('PATH', '')}"}
    with portal_process.portal(CLASS, room.instructor / f"class-{CLASS}", work / "portal.log", env) as running:
        yield running


def _sources(room: Room, portal: portal_process.Portal) -> dict[str, Callable[[], dict[str, Shown]]]:
    """`class status -o json` in the instructor's checkout and the grid's rows as its page fetches them."""
    instructor = portal.instructor()

    def grid() -> dict[str, Shown]:
        answer = instructor.get(f"{portal.url}instructor/grid", timeout=60)
        answer.raise_for_status()
        return grid_shown(answer.text)

    return {STATUS: lambda: status_shown(room.class_command("status", "-o", "json", timeout=180).stdout),
            GRID: grid}


def _expect(found: dict[str, dict[str, Shown]], seats: dict[str, str], when: str) -> None:
    """Every source showed every seat with `step` reached, nothing failing, at that step's page."""
    wrong = [f"{seat}: {source} {when} showed {shown}, not step {step} reached at page {page_number(step)}"
             for source in (STATUS, GRID) for seat, step in seats.items()
             if (shown := found.get(source, {}).get(seat)) is None
             or (shown.reached, shown.failing, shown.page) != (step, "", page_number(step))]
    assert not wrong, "\n".join(wrong)


def _stuck(room: Room, portal: portal_process.Portal, tab: Any, report: Any, idle: list[Seat]) -> None:
    """The last seat broken on purpose (STUCK_OBJECT deleted in its shell) and STUCK_STEP checked 3 times in its
    shell: `class status` and the grid show it stuck (and not the `idle` seats), the grid's link and `class diagnose`
    name the object. Then the seat repaired as a participant would, whatever failed (the tests after this one use the
    seat), and no longer shown stuck."""
    broken = room.seats[-1]
    kind, name = STUCK_OBJECT
    broken.sh(f"kubectl delete {kind.lower()} {name}")
    try:
        for attempt in range(1, 4):
            done = broken.sh(f"lab check {STUCK_STEP}", check=False)
            assert done.returncode == 1 and f" {STUCK_STEP} " in done.stdout and "lab: " not in done.stderr, (
                f"{broken.name}: lab check {STUCK_STEP} #{attempt} exited {done.returncode}\n{done.stdout}"
                f"{done.stderr}")
        table = room.class_command("status").stdout
        line = next((row for row in table.splitlines() if row.startswith(broken.name)), "")
        assert f"{STUCK_STEP} (x3)" in line, f"{broken.name}: class status does not show {STUCK_STEP} (x3)\n{table}"
        row = tab.locator(f"#seat-{broken.name}")
        tab.wait_for_selector(f"#seat-{broken.name}.stuck", timeout=30_000)  # the page refreshes its rows every 5 s
        text = " ".join(row.inner_text().split())
        assert f"{STUCK_STEP} x3" in text and f"{page_number(STUCK_STEP)}. " in text, f"{broken.name}: grid {text!r}"
        assert not [s.name for s in idle if "stuck" in (tab.locator(f"#seat-{s.name}").get_attribute("class") or "")]
        screenshot(tab, "class-replay-stuck")
        link = row.locator("a", has_text="stuck: diff").get_attribute("href")
        assert link == f"/instructor/seat/{broken.name}/diagnose?step={STUCK_STEP}", link
        started = time.monotonic()
        tab.goto(portal.url.rstrip("/") + link, timeout=180_000)
        seconds = time.monotonic() - started
        named = [(h.get_attribute("data-kind"), h.get_attribute("data-name"), " ".join(h.inner_text().split()))
                 for h in tab.locator("h2.object").all()]
        screenshot(tab, "class-replay-diff")
        diagnosis = room.class_command("diagnose", broken.name).stdout  # no step: the one the record says is failing
        report("\n".join([
            f"{broken.name} broken on purpose ({kind} {name} deleted), `lab check {STUCK_STEP}` 3 times: class status "
            f"`{' '.join(line.split())}`; the grid row stuck: `{text}`",
            f"  the grid's diff link ({seconds:.1f} s) names: " + "; ".join(f"{k} {n} ({t.split(':', 1)[-1].strip()})"
                                                                     for k, n, t in named),
            f"  class diagnose {broken.name}: " + " | ".join(ln for ln in diagnosis.splitlines()
                                                             if ln and not ln.startswith(" "))[:800]]))
        assert any((k, n) == STUCK_OBJECT and "missing" in t for k, n, t in named), (
            f"{broken.name}: the portal's diff of step {STUCK_STEP} does not name {kind} {name} as missing: {named}")
        assert f"step {STUCK_STEP} in namespace {broken.namespace}: " in diagnosis and \
            f"{kind} {name}: missing (the solve creates it)" in diagnosis, diagnosis
    finally:
        broken.sh(f"forge deploy {STUCK_REPAIR} && lab check {STUCK_STEP}", timeout=900)
    after = status_shown(room.class_command("status", "-o", "json").stdout)[broken.name]
    assert (after.reached, after.failing, after.failures) == (STUCK_STEP, "", 0), f"{broken.name} repaired: {after}"
    tab.goto(f"{portal.url}instructor")  # back from the diff to the grid
    tab.wait_for_selector(f"#seat-{broken.name}:not(.stuck)", timeout=30_000)
    report(f"  {broken.name} repaired (forge deploy {STUCK_REPAIR}): step {STUCK_STEP} passing, no longer stuck")


@pytest.mark.class_replay  # with SHOPBOX_CLASS_REPLAY=1 only: more CI time than the cold make test has left
@pytest.mark.timeout(7200)
def test_three_seats_replay_pages_3_to_7_at_the_same_time_then_one_goes_on_to_9(deployed: Room, report: Any,
                                                                              tmp_path: Path) -> None:
    """`lab reset 3` in each seat; pages 3-7 line by line in the 3 seats at the same time, then the first seat on
    through pages 8-9: every check (`lab check STEP`, recorded for the instructor) failing before its step and
    passing after it (exercises/lab/replay.py). Meanwhile `class status` and the portal's grid, read every
    WATCH_EVERY seconds, show each seat at two pages at least, never going back, and at its last step at the end.
    While the first seat goes on, the last one is broken on purpose and shown stuck in Chromium, with the diff naming
    the object (_stuck); then the grid in Chromium shows each seat's page. Last, as the baseline, pages 3-7 in the
    first seat alone."""
    room = deployed
    together = _pages(TOGETHER)
    # `lab reset 3` also brings pages 1-2 (this machine's Docker, shared by the three checkouts) to their end: the
    # seats one after the other, since three at once would start the same local containers.
    resets = [_reset(seat, together[0]) for seat in room.seats]
    report(f"lab reset 3 in each seat: {', '.join(f'{s:.0f} s' for s in resets)}")
    warnings: dict[str, list[str]] = {seat.name: [] for seat in room.seats}
    results: dict[str, tuple[float, list[PageReport]] | BaseException] = {}

    def replay_seat(seat: Seat, pages: list[Page]) -> None:
        try:
            results[seat.name] = _replay(seat, pages, warnings[seat.name])
        except BaseException as err:  # reported below, with the other seats' outcomes
            results[seat.name] = err

    first, last = SEATS[0], {seat.name: together[-1].steps[-1].id for seat in room.seats}
    with _portal(room, tmp_path) as portal:
        login = f"{portal.url}instructor/login?key={portal.key}"
        with Watcher(_sources(room, portal), interval=WATCH_EVERY) as watcher:
            started = time.monotonic()
            threads = [threading.Thread(target=replay_seat, args=(seat, together)) for seat in room.seats]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            concurrent = time.monotonic() - started
            time.sleep(STATUS_CACHE + 0.5)  # the grid's status read after the last check, not one cached before it
            at_7 = watcher.poll()
            failed = {name: outcome for name, outcome in results.items() if isinstance(outcome, BaseException)}
            done = {name: outcome for name, outcome in results.items() if not isinstance(outcome, BaseException)}
            report("\n".join([f"pages 3-7 in the 3 seats at the same time: {concurrent:.0f} s", *(
                _timeline(name, seconds, reports) for name, (seconds, reports) in sorted(done.items())),
                *_drifts([r for _, reports in done.values() for r in reports]),
                f"what the instructor saw ({watcher.polls} reads of each, every {WATCH_EVERY:.0f} s):",
                *(f"{source}:\n" + "\n".join(timeline(watcher.sightings, source)) for source in (STATUS, GRID))]))
            assert not failed, "\n\n".join(str(err) for err in failed.values())
            _expect(at_7, last, "after pages 3-7")

            # The first seat goes on through pages 8-9 while the last one gets stuck (and is repaired).
            del results[first]
            goes_on = threading.Thread(target=replay_seat, args=(room.seats[0], _pages(ON_ALONE)))
            goes_on.start()
            try:
                with chromium() as browser:
                    tab = browser.new_page(viewport=VIEWPORT)
                    tab.goto(login)
                    _stuck(room, portal, tab, report, idle=room.seats[1:-1])
            finally:
                goes_on.join()
            if isinstance(results[first], BaseException):
                raise results[first]
            alone_seconds, alone = results[first]
            time.sleep(STATUS_CACHE + 0.5)
            at_9 = watcher.poll()
        report("\n".join([f"then {first} alone, pages 8-9 (while {SEATS[-1]} was stuck, then repaired): "
                          f"{alone_seconds:.0f} s", _timeline(first, alone_seconds, alone), *_drifts(alone),
                          f"what the instructor saw over both ({watcher.polls} reads of each, every "
                          f"{WATCH_EVERY:.0f} s; time: page (step)):",
                          *(f"{source}:\n" + "\n".join(timeline(watcher.sightings, source))
                            for source in (STATUS, GRID)),
                          f"reads that failed: {watcher.errors or 'none'}",
                          "lab's warnings: " + (", ".join(f"{seat} {len(w)}" for seat, w in warnings.items())),
                          *(f"  {seat} {line}" for seat, lines in warnings.items() for line in lines[:5])]))
        assert not watcher.errors, "\n".join(watcher.errors)
        wrong = [line for source in (STATUS, GRID) for line in problems(watcher.sightings, SEATS, source)]
        assert not wrong, "\n".join(wrong)
        _expect(at_9, {**last, first: _pages(ON_ALONE)[-1].steps[-1].id}, "after pages 8-9")
        with chromium() as browser:
            tab = browser.new_page(viewport=VIEWPORT)
            tab.goto(login)
            pages = {seat.name: tab.locator(f"#seat-{seat.name} td.page").inner_text() for seat in room.seats}
            screenshot(tab, "class-replay-grid")
        report(f"the grid in Chromium after the replays: {pages}")
        assert [seat for seat, text in pages.items() if not text.startswith(
            f"{page_number(_pages(ON_ALONE)[-1].steps[-1].id) if seat == first else 7}. ")] == [], pages

    _reset(room.seats[0], together[0])
    single_seconds, single = _replay(room.seats[0], together, warnings[first])
    every = single + [r for _, reports in done.values() for r in reports] + alone
    lines = [f"pages 3-7 in {first} alone: {single_seconds:.0f} s; in the 3 seats at the same time: "
             f"{concurrent:.0f} s ({concurrent / single_seconds:.2f}x)",
             _timeline(f"{first} alone", single_seconds, single),
             f"lines executed: {sum(r.executed for r in every)}/{sum(r.total for r in every)} over {len(every)} page "
             "replays"]
    report("\n".join(lines + _drifts(single)))
    assert all(r.executed == r.total for r in every), [r.summary() for r in every if r.executed != r.total]


# -- 4. reset one seat, then down -------------------------------------------------------------------------------------


def _state(cluster: ClassCluster, namespace: str) -> dict[str, str]:
    """kind/name -> uid, and generation (objects with a spec) or resourceVersion, of every object of the namespace that
    a participant makes or the class keeps: what a reset of another seat must not touch. Pods and the quota by uid
    only: their status (readiness, usage) moves by itself; objects already being deleted are left out."""
    kinds = ("pods,deployments,replicasets,statefulsets,services,configmaps,secrets,networkpolicies,serviceaccounts,"
             "roles,rolebindings,poddisruptionbudgets,resourcequotas,limitranges")
    items = [o for o in cluster.kubectl_json("get", kinds, "-n", namespace)["items"]
             if "deletionTimestamp" not in o["metadata"]]  # a pod still terminating from a scale-down goes by itself
    return {f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["uid"] + ("" if o["kind"] in ("Pod", "ResourceQuota")
            else f" {o['metadata'].get('generation', o['metadata']['resourceVersion'])}") for o in items}


def test_class_reset_of_one_seat_leaves_the_two_others_untouched(deployed: Room, report: Any) -> None:
    room = deployed
    a, b, c = room.seats
    before = {s.name: _state(room.cluster, s.namespace) for s in (a, b)}
    assert any(k.startswith("Deployment/") for k in _state(room.cluster, c.namespace))  # QOTM and the edge
    started = time.monotonic()
    room.class_command("reset", c.name)
    seconds = time.monotonic() - started
    after = {s.name: _state(room.cluster, s.namespace) for s in (a, b)}
    assert after == before
    left = _state(room.cluster, c.namespace)
    assert not any(k.startswith(("Deployment/", "StatefulSet/")) for k in left), left
    # The seat still joins and works: kubectl answers, and `lab status` runs (exit 1: not every page is done).
    c.sh("kubectl get pods >/dev/null && { lab status >/dev/null; test $? -eq 1; }")
    report(f"class reset {c.name}: {seconds:.0f} s; {sum(len(s) for s in before.values())} objects of the two other "
           "seats unchanged")


def test_class_down_leaves_nothing_of_the_class(room: Room, report: Any) -> None:
    started = time.monotonic()
    room.class_command("down")
    seconds = time.monotonic() - started
    # Independently of class down's own sweep: every kind the API server lists, in every namespace.
    kinds = room.cluster.kubectl("api-resources", "--verbs=list", "-o", "name").stdout.split()
    left = room.cluster.kubectl_json("get", ",".join(kinds), "-A", "-l", f"class.shopbox.io/class={CLASS}")["items"]
    assert [f"{o['kind']}/{o['metadata']['name']}" for o in left] == []
    namespaces = {n["metadata"]["name"] for n in room.cluster.kubectl_json("get", "namespaces")["items"]}
    assert not {CLASS, *(s.namespace for s in room.seats)} & namespaces, namespaces
    report(f"class down: {seconds:.0f} s, nothing labelled as the class's left of {len(kinds)} kinds listed")
