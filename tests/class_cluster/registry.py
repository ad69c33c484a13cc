"""A seat-style registry in the class cluster: the test registry image (Debian's docker-registry, the distribution
registry) as a Deployment behind a NodePort Service, optionally with htpasswd auth and no TLS; pushed to from the host
through `kubectl port-forward`, pulled by the nodes' containerd as `localhost:<nodePort>/NAME:TAG`."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import bcrypt
import requests

from tests.class_cluster.cluster import ClassCluster
from tests.class_cluster.pods import apply
from tests.cluster.launcher import kubectl_binary
from tests.platform.procs import free_port, port_open, wait_for
from tests.shopbox.offline_image import run_checked

REALM = "seat registry"


def registry_objects(image: str, htpasswd: str | None = None) -> list[dict[str, Any]]:
    """ConfigMap (its config), Secret (htpasswd, if given), Deployment and NodePort Service, all named `registry`."""
    config = ("version: 0.1\nlog: {level: info}\nstorage: {filesystem: {rootdirectory: /var/lib/registry}}\n"
              "http: {addr: ':5000'}\n")
    volumes: list[dict[str, Any]] = [{"name": "config", "configMap": {"name": "registry"}}]
    mounts: list[dict[str, Any]] = [{"name": "config", "mountPath": "/etc/docker/registry"}]
    objects: list[dict[str, Any]] = []
    if htpasswd is not None:
        config += f"auth: {{htpasswd: {{realm: '{REALM}', path: /auth/htpasswd}}}}\n"
        objects.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "registry-htpasswd"},
                        "stringData": {"htpasswd": htpasswd}})
        volumes.append({"name": "auth", "secret": {"secretName": "registry-htpasswd"}})
        mounts.append({"name": "auth", "mountPath": "/auth"})
    labels = {"app": "registry"}
    objects += [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "registry"}, "data": {"config.yml": config}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "registry"},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
             "metadata": {"labels": labels},
             "spec": {"volumes": volumes, "containers": [{
                 "name": "registry", "image": image, "volumeMounts": mounts, "ports": [{"containerPort": 5000}],
                 "readinessProbe": {"tcpSocket": {"port": 5000}, "periodSeconds": 1}}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "registry"},
         "spec": {"type": "NodePort", "selector": labels, "ports": [{"port": 5000, "targetPort": 5000}]}},
    ]
    return objects


def htpasswd_line(user: str, password: str) -> str:
    """An htpasswd entry as the distribution registry accepts it (bcrypt only)."""
    return f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()}\n"


def deploy(cluster: ClassCluster, namespace: str, image: str, htpasswd: str | None = None) -> tuple[int, str]:
    """The registry running; its NodePort and the node its pod runs on."""
    apply(cluster, namespace, *registry_objects(image, htpasswd))
    cluster.kubectl("rollout", "status", "deployment/registry", "-n", namespace, "--timeout=120s", timeout=150)
    node_port = cluster.kubectl_json("get", "service", "registry", "-n", namespace)["spec"]["ports"][0]["nodePort"]
    pod = cluster.kubectl_json("get", "pods", "-n", namespace, "-l", "app=registry")["items"][0]
    return node_port, pod["spec"]["nodeName"]


@contextmanager
def port_forward(cluster: ClassCluster, namespace: str) -> Iterator[int]:
    """`kubectl port-forward svc/registry` on a free 127.0.0.1 port (a participant's push path); its port."""
    port = free_port()
    proc = subprocess.Popen([kubectl_binary(), "port-forward", "-n", namespace, "svc/registry", f"{port}:5000"],
                            env=cluster.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: port_open(port) or proc.poll() is not None, timeout=30, what="kubectl port-forward")
        if proc.poll() is not None:
            raise AssertionError(f"kubectl port-forward exited: {proc.stderr.read() if proc.stderr else ''}")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def push(source: str, target: str, docker_config: Path | None = None) -> float:
    """docker tag + push (with the credentials of a `docker --config` directory, if given); the push's seconds."""
    run_checked(["docker", "tag", source, target])
    try:
        started = time.monotonic()
        run_checked(["docker", *(["--config", str(docker_config)] if docker_config else []), "push", target],
                    timeout=900)
        return time.monotonic() - started
    finally:
        subprocess.run(["docker", "rmi", target], capture_output=True)


def pushed_bytes(port: int, repository: str, tag: str, auth: tuple[str, str] | None = None) -> int:
    """The compressed size of an image in the registry (config and layers, from its manifest)."""
    manifest = requests.get(f"http://127.0.0.1:{port}/v2/{repository}/manifests/{tag}", auth=auth, timeout=10,
                            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}).json()
    return int(manifest["config"]["size"]) + sum(int(layer["size"]) for layer in manifest["layers"])


def puller(name: str, node: str, image: str, pull_secret: str | None = None) -> dict[str, Any]:
    """A pod on NODE whose image is IMAGE (always pulled), doing nothing."""
    spec: dict[str, Any] = {"nodeName": node, "tolerations": [{"operator": "Exists"}],
                            "terminationGracePeriodSeconds": 0,
                            "containers": [{"name": "main", "image": image, "imagePullPolicy": "Always",
                                            "command": ["sleep", "infinity"]}]}
    if pull_secret:
        spec["imagePullSecrets"] = [{"name": pull_secret}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def pull_secret(name: str, registry: str, user: str, password: str) -> dict[str, Any]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    config = {"auths": {registry: {"username": user, "password": password, "auth": token}}}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "type": "kubernetes.io/dockerconfigjson", "stringData": {".dockerconfigjson": json.dumps(config)}}


def _seconds(duration: str) -> float:
    """A Go duration as the kubelet prints it (850ms, 1.5s, 1m2.5s) in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    return sum(float(value) * units[unit] for value, unit in re.findall(r"([\d.]+)(ms|us|µs|ns|h|m|s)", duration))


def pull_outcome(cluster: ClassCluster, namespace: str, pod: str) -> tuple[str, float | str]:
    """("pulled", seconds the kubelet reports) or ("failed", the kubelet's message), once either shows."""
    def outcome() -> tuple[str, float | str] | None:
        events = cluster.kubectl_json("get", "events", "-n", namespace,
                                      "--field-selector", f"involvedObject.name={pod}")["items"]
        for event in events:
            if event["reason"] == "Pulled" and (found := re.search(r" in (\S+) \(", event["message"])):
                return "pulled", _seconds(found.group(1))
            if event["reason"] == "Failed":
                return "failed", event["message"]
        return None
    return cluster.wait_for(f"pod {namespace}/{pod} to pull its image or fail", outcome, timeout=300, interval=1)
