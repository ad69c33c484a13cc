"""Build a kind node image and a registry image offline, for the `workshop` tier.

Nothing can be pulled here, so the two images `./shopbox.sh` would pull (KIND_NODE_IMAGE, REGISTRY_IMAGE) are
built from source and reach it through a versions file (SHOPBOX_VERSIONS_FILE); everything else in the tier is
the participant's path, unchanged. The node image follows kind's node-image contract (read in kind's
`images/base` and `pkg/build/nodeimage`; this is our own build):

- a Debian bookworm base (debootstrap) with systemd, runc, the CNI plugins, iptables and the rest from Debian;
- kubelet, kubeadm, kubectl (and kube-proxy, the control plane, etcd) from tests/cluster's Go module at
  KUBERNETES_VERSION; containerd 2.x and crictl from their Go modules (versions.env);
- every image the node needs at boot, the list asked of our kubeadm (`kubeadm config images list`): the
  control-plane components, kube-proxy, etcd, pause (compiled from Kubernetes' pause.c) and CoreDNS (its Go
  module at the version kubeadm names), each a small image on one shared Debian layer, preloaded into the node's
  containerd the way kind does it (containerd started in a build container, `ctr images import`, commit);
- kube-router instead of kindnetd (not served by the Go proxy) as the pod network, run by kind the way it runs
  kindnetd (/kind/manifests/default-cni.yaml: a DaemonSet): its router (bridge CNI on the node's podCIDR, routes to
  the other nodes' pods over iBGP) and its firewall (NetworkPolicy), service proxy off; built from its Go module at
  KUBE_ROUTER_VERSION;
- kind's default storage (/kind/manifests/default-storage.yaml, kind's own manifest): rancher's
  local-path-provisioner built from its Go module and its helper image (sh, mkdir, rm), both under the names the
  manifest gives them and preloaded with the others.

Everything is cached: binaries under SHOPBOX_CACHE, images in the engine, tagged by a hash of their inputs.
Run as a module to build ahead of the tests; it prints the versions file to hand to ./shopbox.sh.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tests.platform.base_images import CACHE, ROOT, BaseImage, ensure, image_exists
from tests.shopbox.offline_image import cache_lock, go_install, remove_other_tags, run_checked
from versions_env import read_versions

HERE = Path(__file__).resolve().parent
RECIPE = "1"  # bump when the build steps below change
VERSIONS = ROOT / "versions.env"

# One Debian layer under every component image (kube-proxy needs iptables and conntrack, kube-router also ipset and
# ip; the rest only libc). socat: the class cluster's tests serve and connect with it in pods built on this layer.
COMPONENT_BASE = BaseImage(repository="shopbox-test/kube-component-base",
                           debs=("iptables", "ipset", "iproute2", "conntrack", "socat", "ca-certificates"))
NODE_BASE = BaseImage(repository="shopbox-test/kind-node-base", debs=(
    "systemd", "dbus", "runc", "containernetworking-plugins", "iptables", "nftables", "conntrack", "ethtool",
    "socat", "ebtables", "iproute2", "util-linux", "mount", "kmod", "libseccomp2", "procps", "ca-certificates",
    "bash", "jq", "pigz", "findutils", "less"))

NODE_REPOSITORY = "shopbox-test/kind-node"
REGISTRY_REPOSITORY = "shopbox-test/registry"


def pins() -> dict[str, str]:
    return read_versions(VERSIONS)


def cluster_bins() -> Path:
    """The Kubernetes binaries (tests/cluster/build.sh: cached, hash-keyed)."""
    out = run_checked(["bash", str(ROOT / "tests/cluster/build.sh")], timeout=3600).stdout.strip().splitlines()[-1]
    return Path(out)


def containerd_bins() -> Path:
    version = "v" + pins()["NODE_CONTAINERD_VERSION"]
    module = "github.com/containerd/containerd/v2/cmd"
    return go_install("containerd", version, f"{module}/containerd", f"{module}/ctr",
                      f"{module}/containerd-shim-runc-v2",
                      tags="no_btrfs no_devmapper no_zfs no_aufs")  # snapshotters a kind node does not use


def crictl_bin() -> Path:
    return go_install("crictl", "v" + pins()["NODE_CRICTL_VERSION"], "sigs.k8s.io/cri-tools/cmd/crictl") / "crictl"


def coredns_bin(version: str) -> Path:
    return go_install("coredns", version, "github.com/coredns/coredns") / "coredns"


def pause_bin(tag: str) -> Path:
    """Kubernetes' pause container (build/pause/linux/pause.c of the k8s.io/kubernetes module), compiled here."""
    k8s = "v" + pins()["KUBERNETES_VERSION"]
    target = CACHE / "kind-tools" / f"pause-{tag}" / "pause"
    with cache_lock("kind-tools-pause"):
        if not target.exists():
            modcache = run_checked(["go", "env", "GOMODCACHE"]).stdout.strip()
            source = Path(modcache) / f"k8s.io/kubernetes@{k8s}" / "build/pause/linux/pause.c"
            if not source.exists():
                run_checked(["go", "mod", "download", f"k8s.io/kubernetes@{k8s}"], cwd=ROOT / "tests/cluster")
            target.parent.mkdir(parents=True, exist_ok=True)
            run_checked(["gcc", "-Os", "-Wall", "-static", f"-DVERSION=v{tag}-shopbox", "-o", str(target), str(source)])
    return target


def kubeadm_images(bins: Path) -> list[str]:
    """The images kubeadm of KUBERNETES_VERSION needs (control plane, kube-proxy, etcd, pause, CoreDNS)."""
    k8s = "v" + pins()["KUBERNETES_VERSION"]
    out = run_checked([str(bins / "kubeadm"), "config", "images", "list", "--kubernetes-version", k8s]).stdout
    return out.split()


def _component(image: str, bins: Path) -> tuple[Path, str, str]:
    """(binary, path in the image, Dockerfile ENTRYPOINT line or "") for one image kubeadm asks for."""
    name, _, tag = image.rpartition("/")[2].partition(":")
    if name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"):
        return bins / name, f"/usr/local/bin/{name}", ""
    if name == "etcd":
        built = "v" + tag.split("-")[0]
        gomod = (ROOT / "tests/cluster/go.mod").read_text()
        if f"go.etcd.io/etcd/server/v3 {built}" not in gomod:
            raise RuntimeError(f"kubeadm asks for {image}, tests/cluster/go.mod pins another etcd (want {built})")
        return bins / "etcd", "/usr/local/bin/etcd", ""
    if name == "pause":
        return pause_bin(tag), "/pause", 'ENTRYPOINT ["/pause"]'
    if name == "coredns":
        return coredns_bin(tag), "/coredns", 'ENTRYPOINT ["/coredns"]'
    raise RuntimeError(f"kubeadm asks for an image this build does not know how to make: {image}")


def binary_image(ref: str, binary: Path | None, dockerfile: str, base_image: BaseImage = COMPONENT_BASE) -> str:
    """Build `ref`: `base_image` (COMPONENT_BASE by default) plus `binary` (copied into the build context as
    `binary`, if given) and the Dockerfile lines given; skipped when an image with the same inputs (a label) is
    already there."""
    base = ensure(base_image)
    stamp = f"{binary}|{binary.stat().st_mtime_ns}" if binary else ""
    label = hashlib.sha256(f"{RECIPE}|{base}|{dockerfile}|{stamp}".encode()).hexdigest()[:16]
    current = subprocess.run(["docker", "image", "inspect", "--format",
                              '{{index .Config.Labels "shopbox.test/recipe"}}', ref],
                             capture_output=True, text=True).stdout.strip()
    if current != label:
        with tempfile.TemporaryDirectory(prefix="shopbox-image-") as tmp:
            if binary:
                shutil.copy2(binary, Path(tmp) / "binary")
            (Path(tmp) / "Dockerfile").write_text(f"FROM {base}\n{dockerfile}\nLABEL shopbox.test/recipe={label}\n")
            run_checked(["docker", "build", "-q", "-t", ref, tmp], env={**os.environ, "DOCKER_BUILDKIT": "0"},
                        timeout=900)
    return ref


def component_images(bins: Path) -> list[str]:
    """Build (or reuse) one image per kubeadm image, named as kubeadm expects; return their names."""
    images = kubeadm_images(bins)
    for image in images:
        binary, dest, entrypoint = _component(image, bins)
        binary_image(image, binary, f"COPY binary {dest}\n{entrypoint}")
    return images


STORAGE_MANIFEST = HERE / "node/files/kind/manifests/default-storage.yaml"
LOCAL_PATH_PROVISIONER = "v0.0.30"  # the newest github.com/rancher/local-path-provisioner the Go module proxy serves


def storage_image_names() -> tuple[str, str]:
    """The provisioner and helper images the storage manifest names."""
    deployment = next(doc for doc in yaml.safe_load_all(STORAGE_MANIFEST.read_text())
                      if doc and doc["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    command = container["command"]
    return container["image"], command[command.index("--helper-image") + 1]


def storage_images() -> list[str]:
    """The provisioner and helper images the storage manifest names, built: the provisioner binary on PATH (the
    manifest runs `local-path-provisioner start ...`), the helper is the component base (sh, mkdir, rm)."""
    provisioner, helper = storage_image_names()
    binary = go_install("local-path-provisioner", LOCAL_PATH_PROVISIONER,
                        "github.com/rancher/local-path-provisioner") / "local-path-provisioner"
    binary_image(provisioner, binary, "COPY binary /usr/local/bin/local-path-provisioner\n"
                 'ENTRYPOINT ["/usr/local/bin/local-path-provisioner"]')
    binary_image(helper, None, "")
    return [provisioner, helper]


CNI_MANIFEST = HERE / "node/files/kind/manifests/default-cni.yaml"


def kube_router_bin() -> Path:
    module = "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
    return go_install("kube-router", "v" + pins()["KUBE_ROUTER_VERSION"], module) / "kube-router"


def cni_images() -> list[str]:
    """The kube-router image the CNI manifest names (its tag must be KUBE_ROUTER_VERSION), built."""
    daemonset = next(doc for doc in yaml.safe_load_all(CNI_MANIFEST.read_text())
                     if doc and doc["kind"] == "DaemonSet")
    pod = daemonset["spec"]["template"]["spec"]
    images = {container["image"] for container in pod["initContainers"] + pod["containers"]}
    want = "v" + pins()["KUBE_ROUTER_VERSION"]
    if len(images) != 1 or not (image := images.pop()).endswith(f":{want}"):
        raise RuntimeError(f"{CNI_MANIFEST}: the kube-router containers must use one image tagged {want}")
    binary_image(image, kube_router_bin(), "COPY binary /usr/local/bin/kube-router\n"
                 'ENTRYPOINT ["/usr/local/bin/kube-router"]')
    return [image]


def _inputs_digest(*parts: str) -> str:
    digest = hashlib.sha256(RECIPE.encode())
    for part in parts:
        digest.update(part.encode() + b"\0")
    for path in sorted(p for p in (HERE / "node").rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(HERE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _image_ids(images: list[str]) -> str:
    return run_checked(["docker", "image", "inspect", "--format", "{{.Id}}", *images]).stdout


def node_image() -> str:
    """Build (or reuse) the node image; return its reference."""
    bins = cluster_bins()
    containerd = containerd_bins()
    crictl = crictl_bin()
    images = component_images(bins) + storage_images() + cni_images()
    base = ensure(NODE_BASE)
    k8s = "v" + pins()["KUBERNETES_VERSION"]
    ref = f"{NODE_REPOSITORY}:{k8s}-{_inputs_digest(base, str(bins), str(containerd), str(crictl), _image_ids(images))}"
    if image_exists(ref):
        return ref
    with cache_lock("kind-node-image"):
        if image_exists(ref):
            return ref
        print(f"building kind node image {ref}", file=sys.stderr)
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="shopbox-node-") as tmp:
            context = Path(tmp) / "context"
            shutil.copytree(HERE / "node", context)
            (context / "files/kind/version").write_text(k8s)
            for directory, sources in (("usr-bin", [bins / n for n in ("kubelet", "kubeadm", "kubectl")]),
                                       ("usr-local-bin", [containerd / "containerd", containerd / "ctr",
                                                          containerd / "containerd-shim-runc-v2", crictl])):
                (context / "bin" / directory).mkdir(parents=True)
                for source in sources:
                    shutil.copy2(source, context / "bin" / directory / source.name)
            stage = f"{NODE_REPOSITORY}-stage:{ref.rpartition(':')[2]}"
            run_checked(["docker", "build", "-q", "--build-arg", f"BASE_IMAGE={base}", "-t", stage, str(context)],
                 env={**os.environ, "DOCKER_BUILDKIT": "0"}, timeout=1800)
            archive = Path(tmp) / "images.tar"
            run_checked(["docker", "save", "-o", str(archive), *images], timeout=900)
            _preload(stage, archive, ref)
            subprocess.run(["docker", "rmi", stage], capture_output=True)
        remove_other_tags(NODE_REPOSITORY, ref)
        print(f"built {ref} in {time.monotonic() - start:.0f} s", file=sys.stderr)
    return ref


def _preload(stage: str, archive: Path, ref: str) -> None:
    """kind's way: run the image (unprivileged: only the content store is written), start containerd, import the
    image archive into the k8s.io namespace without unpacking (the CRI plugin unpacks on first use), commit."""
    name = f"shopbox-node-build-{os.getpid()}"
    # --init: something must reap containerd once it is stopped (sleep, PID 1 otherwise, does not)
    run_checked(["docker", "run", "-d", "--init", "--name", name, "--entrypoint", "sleep",
                 "-v", f"{archive}:/kind/images.tar:ro", stage, "infinity"])
    try:
        run_checked(["docker", "exec", name, "bash", "-c", "nohup containerd >/var/log/containerd-build.log 2>&1 &"])
        run_checked(["docker", "exec", name, "bash", "-c",
                     "for _ in $(seq 100); do [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1"
                     " && exit 0; sleep 0.2; done; tail -20 /var/log/containerd-build.log; exit 1"])
        run_checked(["docker", "exec", name, "ctr", "--namespace=k8s.io", "images", "import", "--all-platforms",
                     "--no-unpack", "--digests", "--label=io.cri-containerd.pinned=pinned", "/kind/images.tar"],
                    timeout=900)
        run_checked(["docker", "exec", name, "bash", "-c",
                     "pkill -x containerd; for _ in $(seq 100); do pgrep -x containerd >/dev/null || exit 0;"
                     " sleep 0.2; done; echo containerd did not stop; exit 1"])
        run_checked(["docker", "exec", name, "rm", "-rf", "/run/containerd", "/var/log/containerd-build.log"])
        run_checked(["docker", "commit", "--change", 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
                     "--change", "CMD []", name, ref])
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)


def registry_image() -> str:
    """The distribution registry (Debian's docker-registry binary) as an image like the official one: config at
    /etc/docker/registry/config.yml, listening on :5000, data in /var/lib/registry."""
    binary = Path(shutil.which("docker-registry") or "/usr/bin/docker-registry")
    base = ensure(COMPONENT_BASE)
    digest = hashlib.sha256(f"{RECIPE}|{base}".encode() + binary.read_bytes()).hexdigest()[:16]
    ref = f"{REGISTRY_REPOSITORY}:{digest}"
    if image_exists(ref):
        return ref
    with tempfile.TemporaryDirectory(prefix="shopbox-registry-") as tmp:
        shutil.copy2(binary, Path(tmp) / "registry")
        (Path(tmp) / "config.yml").write_text(
            "version: 0.1\nlog: {fields: {service: registry}}\n"
            "storage: {filesystem: {rootdirectory: /var/lib/registry}, delete: {enabled: true}}\n"
            "http: {addr: ':5000'}\n")
        (Path(tmp) / "Dockerfile").write_text(
            f"FROM {base}\nCOPY registry /bin/registry\nCOPY config.yml /etc/docker/registry/config.yml\n"
            "VOLUME /var/lib/registry\nEXPOSE 5000\n"
            'ENTRYPOINT ["/bin/registry"]\nCMD ["serve", "/etc/docker/registry/config.yml"]\n')
        run_checked(["docker", "build", "-q", "-t", ref, tmp], env={**os.environ, "DOCKER_BUILDKIT": "0"})
    remove_other_tags(REGISTRY_REPOSITORY, ref)
    return ref


def versions_file() -> Path:
    """versions.env with KIND_NODE_IMAGE and REGISTRY_IMAGE pointing at the images built here (the override
    ./shopbox.sh reads from SHOPBOX_VERSIONS_FILE); every other pin unchanged."""
    overrides = {"KIND_NODE_IMAGE": node_image(), "REGISTRY_IMAGE": registry_image()}
    lines = []
    for line in VERSIONS.read_text().splitlines():
        key = line.partition("=")[0]
        lines.append(f"{key}={overrides[key]}" if key in overrides and not line.startswith("#") else line)
    target = CACHE / "workshop-versions.env"
    target.write_text("\n".join(lines) + "\n")
    return target


if __name__ == "__main__":
    print(versions_file())
