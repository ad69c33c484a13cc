"""Start and stop a local Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (one simulated node, or `nodes` of them), all on 127.0.0.1 with free ports, in a temp dir."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from tests.platform.procs import Process, free_ports

from .api import Api
from .pki import CertPair, Pki, create_pki

HERE = Path(__file__).resolve().parent
BUILD_SCRIPT = HERE / "build.sh"
KWOK_STAGES = HERE / "kwok.yaml"

SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"  # first address of SERVICE_CIDR: the `kubernetes` Service
POD_CIDR = "10.244.0.0/24"  # kwok hands out fake pod IPs from here; nothing sends traffic to them
# The fake node's address. Loopback, so that anything that tries to reach "the kubelet"
# (kubectl logs/exec) stays on this machine and simply gets connection refused.
NODE_IP = "127.0.0.1"
NODE_NAME = "kwok-node-0"
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")

T = TypeVar("T")


class ClusterStartError(RuntimeError):
    pass


class PrerequisiteMissing(RuntimeError):
    """Something the local cluster needs (Go, etcd, kubectl, ...) is not on this machine."""


def kubectl_binary() -> str:
    found = shutil.which(os.environ.get("KUBECTL") or "kubectl")
    if not found:
        raise PrerequisiteMissing("kubectl is not on PATH (or KUBECTL does not name an executable)")
    return found


def build_binaries() -> Path:
    """Run build.sh (instant when the pinned binaries are in the cache) and return their dir."""
    if os.environ.get("SHOPBOX_CLUSTER_BIN"):
        return Path(os.environ["SHOPBOX_CLUSTER_BIN"])
    if not shutil.which("go") and not Path("/usr/local/go/bin/go").exists():
        raise PrerequisiteMissing("the Go toolchain is needed to build the control plane (go not found)")
    proc = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ClusterStartError(f"{BUILD_SCRIPT} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def _fast_tmp() -> str | None:
    """A tmpfs for etcd's fsyncs when there is one, else the default temp dir."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def write_kubeconfig(path: Path, server: str, ca: Path, client: CertPair, name: str = "shopbox-test") -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [
            {
                "name": name,
                "user": {"client-certificate": str(client.cert), "client-key": str(client.key)},
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": "default"}}],
        "current-context": name,
    }
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)
    return path


class KubectlError(subprocess.CalledProcessError):
    def __str__(self) -> str:
        return f"{' '.join(map(str, self.cmd))} exited {self.returncode}:\n{self.stderr}{self.stdout}"


class KubeCluster:
    """A cluster reachable with a kubeconfig: what tests get from the `kube_cluster` fixture."""

    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig

    @property
    def env(self) -> dict[str, str]:
        """os.environ with KUBECONFIG pointing at this cluster (for forge or kubectl subprocesses)."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run the machine's kubectl against this cluster; raises KubectlError on failure if check."""
        cmd = [kubectl_binary(), *args]
        proc = subprocess.run(
            cmd, input=input, capture_output=True, text=True, env=self.env, timeout=timeout, check=False
        )
        if check and proc.returncode != 0:
            raise KubectlError(proc.returncode, cmd, proc.stdout, proc.stderr)
        return proc

    def kubectl_json(self, *args: str, timeout: float = 60) -> Any:
        """kubectl ARGS -o json, parsed."""
        return json.loads(self.kubectl(*args, "-o", "json", timeout=timeout).stdout)

    def wait_for(self, what: str, check: Callable[[], T | None], timeout: float = 60, interval: float = 0.5) -> T:
        """Poll check() until it returns something truthy; fail with `what` after timeout."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while True:
            try:
                result = check()
                if result:
                    return result
            except (KubectlError, subprocess.TimeoutExpired) as exc:
                last = exc
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"timed out after {timeout:.0f} s waiting for {what}" + (f": {last}" if last else "")
                )
            time.sleep(interval)


class LocalCluster(KubeCluster):
    """etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok on 127.0.0.1.

    Use as a context manager, or call start() and stop(). Everything lives in a temp data dir
    (removed by stop()); process logs are in data_dir/logs and shown when startup fails.
    """

    def __init__(self, bin_dir: Path | None = None, data_dir: Path | None = None, keep_data: bool = False,
                 nodes: int = 1) -> None:
        self.bin_dir = bin_dir
        self.node_names = [NODE_NAME] + [f"kwok-node-{i}" for i in range(1, nodes)]  # all simulated by kwok
        self._own_data_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="shopbox-cluster-", dir=_fast_tmp()))
        self.keep_data = keep_data
        super().__init__(self.data_dir / "kubeconfig")
        self.processes: list[Process] = []
        self.server = ""
        self.startup_seconds = 0.0
        self._api: Api | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = 90) -> None:
        """Start everything and wait until it is usable; on any failure stop what was started,
        remove the data dir and raise (PrerequisiteMissing, or ClusterStartError with log tails)."""
        t0 = time.monotonic()
        try:
            kubectl_binary()  # fail early: tests need it
            bin_dir = self.bin_dir or build_binaries()
            # etcd is built with the rest (build.sh): Debian bookworm's etcd 3.4.23 lacks the
            # RequestWatchProgress support kube-apiserver 1.36 needs for watch-list requests, and
            # kwok, which makes them, then sees changes seconds late. SHOPBOX_ETCD overrides.
            etcd = os.environ.get("SHOPBOX_ETCD") or str(bin_dir / "etcd")
            t0 = time.monotonic()
            self._start(bin_dir, etcd, t0 + timeout)
        except BaseException as exc:
            logs = "\n".join(p.describe() for p in self.processes)
            self.stop()
            if isinstance(exc, Exception) and not isinstance(exc, PrerequisiteMissing | ClusterStartError):
                raise ClusterStartError(f"local cluster did not start: {exc}\n{logs}") from exc
            if isinstance(exc, ClusterStartError) and logs:
                raise ClusterStartError(f"local cluster did not start: {exc}\n{logs}") from exc
            raise
        self.startup_seconds = time.monotonic() - t0

    def stop(self) -> None:
        # Reverse start order: node agent and controllers first, etcd last.
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()
        if self._own_data_dir and not self.keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- startup ---------------------------------------------------------------------------

    def _start(self, bin_dir: Path, etcd: str, deadline: float) -> None:
        d = self.data_dir
        logs = d / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        pki = create_pki(d / "pki", SERVICE_IP)

        etcd_port, peer_port, api_port = free_ports(3)
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        self.server = f"https://127.0.0.1:{api_port}"
        kubeconfigs = {
            name: write_kubeconfig(d / f"{name}.kubeconfig", self.server, pki.ca.cert, pair)
            for name, pair in pki.clients.items()
        }
        shutil.copyfile(kubeconfigs["admin"], self.kubeconfig)
        self.kubeconfig.chmod(0o600)
        self._api = Api(self.server, str(pki.ca.cert), pki.clients["admin"])

        self._run(
            "etcd",
            [
                etcd,
                "--name=default",
                f"--data-dir={d / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=default=http://127.0.0.1:{peer_port}",
                "--initial-cluster-state=new",
                "--log-level=warn",
                "--unsafe-no-fsync",  # throw-away data: skip fsyncs
            ],
        )
        self._run("kube-apiserver", [str(bin_dir / "kube-apiserver"), *self._apiserver_args(pki, api_port, etcd_url)])
        self._wait("etcd health", deadline, lambda: _etcd_healthy(etcd_url))
        self._wait("kube-apiserver /readyz", deadline, self._api_ready)

        self._run(
            "kube-controller-manager", [str(bin_dir / "kube-controller-manager"), *self._kcm_args(pki, kubeconfigs)]
        )
        self._run(
            "kube-scheduler",
            [
                str(bin_dir / "kube-scheduler"),
                f"--kubeconfig={kubeconfigs['kube-scheduler']}",
                f"--authentication-kubeconfig={kubeconfigs['kube-scheduler']}",
                f"--authorization-kubeconfig={kubeconfigs['kube-scheduler']}",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
                "--leader-elect=false",
            ],
        )
        self._run(
            "kwok",
            [
                str(bin_dir / "kwok"),
                f"--kubeconfig={kubeconfigs['kwok']}",
                f"--config={KWOK_STAGES}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=" + "=".join(KWOK_NODE_ANNOTATION),
                f"--node-ip={NODE_IP}",
                f"--cidr={POD_CIDR}",
                "--node-lease-duration-seconds=40",
            ],
            # kwok also reads ~/.kwok/kwok.yaml: keep a developer's own config out of it.
            env={"HOME": str(d)},
        )
        for name in self.node_names:
            self._create_node(name)
        for name in self.node_names:
            self._wait(f"node {name} Ready and schedulable", deadline, lambda name=name: self._node_ready(name))
        self._wait(
            "the default ServiceAccount in namespace default",
            deadline,
            lambda: self._get("/api/v1/namespaces/default/serviceaccounts/default") is not None,
        )

    def _apiserver_args(self, pki: Pki, port: int, etcd_url: str) -> list[str]:
        d = self.data_dir
        return [
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={d / 'apiserver-certs'}",
            f"--etcd-servers={etcd_url}",
            f"--client-ca-file={pki.ca.cert}",
            f"--tls-cert-file={pki.apiserver.cert}",
            f"--tls-private-key-file={pki.apiserver.key}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=true",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--service-node-port-range=30000-32767",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            # Pods run nowhere: the `kubernetes` Service needs no reachable endpoint.
            "--endpoint-reconciler-type=none",
            "--profiling=false",
        ]

    def _kcm_args(self, pki: Pki, kubeconfigs: dict[str, Path]) -> list[str]:
        kc = kubeconfigs["kube-controller-manager"]
        return [
            f"--kubeconfig={kc}",
            f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}",
            "--bind-address=127.0.0.1",
            "--secure-port=0",
            "--leader-elect=false",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki.sa_key}",
            f"--root-ca-file={pki.ca.cert}",
            f"--cluster-signing-cert-file={pki.ca.cert}",
            f"--cluster-signing-key-file={pki.ca.key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--cluster-name=shopbox-test",
            # kwok renews the node's lease; on a loaded 2-core machine a renewal can be late, and a node marked
            # NotReady turns every pod unready, which kwok's stages never undo. Be patient with the simulated node.
            "--node-monitor-grace-period=5m",
            "--profiling=false",
        ]

    def _run(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        # The components get explicit kubeconfigs; a KUBECONFIG from the caller's shell must not leak in.
        proc = Process(argv, self.data_dir / "logs" / f"{name}.log", env={"KUBECONFIG": None, **(env or {})},
                       cwd=self.data_dir, name=name)
        self.processes.append(proc)

    def _wait(self, what: str, deadline: float, check: Callable[[], bool]) -> None:
        while True:
            for proc in self.processes:
                if not proc.alive():
                    raise ClusterStartError(f"{proc.name} exited while waiting for {what}")
            try:
                if check():
                    return
            except OSError:  # connection refused while a server comes up
                pass
            if time.monotonic() > deadline:
                raise ClusterStartError(f"timed out waiting for {what}")
            time.sleep(0.2)

    def _get(self, path: str) -> dict[str, Any] | None:
        assert self._api is not None
        return self._api.get(path)

    def _api_ready(self) -> bool:
        assert self._api is not None
        status, _ = self._api.request("GET", "/readyz")
        return status == 200

    def _create_node(self, name: str) -> None:
        assert self._api is not None
        key, value = KWOK_NODE_ANNOTATION
        self._api.create(
            "/api/v1/nodes",
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "annotations": {key: value, "node.alpha.kubernetes.io/ttl": "0"},
                    "labels": {
                        "type": "kwok",
                        "kubernetes.io/arch": "amd64",
                        "kubernetes.io/os": "linux",
                        "kubernetes.io/hostname": name,
                        "kubernetes.io/role": "agent",
                        "node-role.kubernetes.io/agent": "",
                    },
                },
                "spec": {},
            },
        )

    def _node_ready(self, name: str) -> bool:
        node = self._get(f"/api/v1/nodes/{name}")
        if not node:
            return False
        conditions = node.get("status", {}).get("conditions", [])
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        taints = [t["key"] for t in node.get("spec", {}).get("taints", [])]
        return ready and not any(t.startswith("node.kubernetes.io/") for t in taints)


def _etcd_healthy(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
        return bool(json.loads(resp.read()).get("health") == "true")


def external_cluster() -> KubeCluster | None:
    """The cluster named by FORGE_TEST_KUBECONFIG, if that is set."""
    path = os.environ.get("FORGE_TEST_KUBECONFIG")
    if not path:
        return None
    if not Path(path).is_file():
        raise PrerequisiteMissing(f"FORGE_TEST_KUBECONFIG={path} is not a file")
    return KubeCluster(Path(path))
