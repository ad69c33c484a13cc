"""The offline bundle: `prefetch` pulls every pinned image and names them with the shell image, the list that
./shopbox.sh gives to `docker save` on the host (a save streamed out of this container's stdout took 6x as long);
`load` (after the host's `docker load` of it) sets up the cluster and puts the
workshop images into the kind node and the registry."""

from __future__ import annotations

from shopbox_setup import cluster
from shopbox_setup.engine import tag_of
from shopbox_setup.runner import Runner, log
from shopbox_setup.settings import Settings


def pinned_images(settings: Settings) -> list[str]:
    """Every *_IMAGE value of versions.env, once, in file order."""
    return list(dict.fromkeys(v for k, v in (settings.versions or {}).items() if k.endswith("_IMAGE")))


def prefetch(runner: Runner, settings: Settings, shell_image: str) -> list[str]:
    """Pull (and tag) every pin; the images the bundle holds, by tag."""
    tags = []
    for ref in pinned_images(settings):
        runner.run(["docker", "pull", ref])
        if tag_of(ref) != ref:
            runner.run(["docker", "tag", ref, tag_of(ref)])  # docker save keeps tags, not digests
        tags.append(tag_of(ref))
    images = list(dict.fromkeys([*tags, shell_image]))
    log(f"bundle: {' '.join(images)}")
    return images


def load(runner: Runner, settings: Settings) -> None:
    """`up` from the loaded images, then each other pinned image into the node and the registry."""
    s = settings
    cluster.up(runner, s)
    for ref in pinned_images(s):
        if ref in (s.pin("KIND_NODE_IMAGE"), s.pin("REGISTRY_IMAGE")):
            continue
        tag = tag_of(ref)
        runner.run(cluster.kind(s, "load", "docker-image", "--name", s.cluster, tag))
        runner.run(["docker", "tag", tag, f"localhost:{s.registry_port}/{tag}"])
        runner.run(["docker", "push", f"localhost:{s.registry_port}/{tag}"])
