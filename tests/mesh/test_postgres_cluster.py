"""PostgreSQL's StatefulSet on the local control plane (cluster tier): `forge deploy postgres` rolls it out once a
volume is there for its claim, and a deleted pod comes back as a new pod on the same claim (the same volume).
Whether the bytes survive needs real containers: the workshop tier's job."""

from __future__ import annotations

import pytest

from tests.cluster import KubeCluster
from tests.forge.cli import forge
from tests.mesh.apps import POSTGRES_DIR

pytestmark = pytest.mark.cluster



def volume(name: str) -> str:
    """A PersistentVolume with no StorageClass, as a cluster without a provisioner needs (kind brings one)."""
    return (f"apiVersion: v1\nkind: PersistentVolume\nmetadata: {{name: {name}}}\nspec:\n"
            "  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n  storageClassName: ''\n"
            f"  hostPath: {{path: /tmp/{name}}}\n")


def test_postgres_rolls_out_and_a_deleted_pod_comes_back_on_the_same_claim(kube_cluster: KubeCluster,
                                                                          kube_namespace: str) -> None:
    ns = kube_namespace
    kube_cluster.kubectl("apply", "-f", "-", input=volume(f"pv-{ns}"))
    try:
        kube_cluster.kubectl("create", "secret", "generic", "postgres-credentials", "-n", ns,
                             "--from-literal=password=test-only")
        deployed = forge("deploy", str(POSTGRES_DIR), "-n", ns, "--timeout", "90s", process=True, timeout=180,
                         env={"KUBECONFIG": str(kube_cluster.kubeconfig)}).ok()
        assert "StatefulSet/postgres rolled out" in deployed.stdout, deployed.stdout

        claim = kube_cluster.kubectl_json("get", "pvc", "data-postgres-0", "-n", ns)
        assert claim["status"]["phase"] == "Bound" and claim["spec"]["volumeName"] == f"pv-{ns}"
        first = kube_cluster.kubectl_json("get", "pod", "postgres-0", "-n", ns)["metadata"]["uid"]

        # Not waiting inside kubectl: kwok removes a deleted pod when its informer sees it, once over 60 s late in a
        # busy tier; the StatefulSet controller makes the new pod right after that.
        kube_cluster.kubectl("delete", "pod", "postgres-0", "-n", ns, "--wait=false")
        kube_cluster.wait_for("a new postgres-0", lambda: kube_cluster.kubectl_json(
            "get", "pod", "postgres-0", "-n", ns)["metadata"]["uid"] != first, timeout=180)
        kube_cluster.kubectl("rollout", "status", "statefulset/postgres", "-n", ns, "--timeout=120s", timeout=150)
        pod = kube_cluster.kubectl_json("get", "pod", "postgres-0", "-n", ns)
        assert pod["metadata"]["uid"] != first
        (data,) = [v for v in pod["spec"]["volumes"] if v["name"] == "data"]
        assert data["persistentVolumeClaim"]["claimName"] == "data-postgres-0"
        again = kube_cluster.kubectl_json("get", "pvc", "data-postgres-0", "-n", ns)
        assert again["metadata"]["uid"] == claim["metadata"]["uid"] and again["spec"]["volumeName"] == f"pv-{ns}"
    finally:
        kube_cluster.kubectl("delete", "pv", f"pv-{ns}", "--wait=false", check=False)
