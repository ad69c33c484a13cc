"""Stage 2 of the pipeline: images. Each container's version (a content hash), then build and publish.

In ko's terms: `version` names an image by its sources, `build.ensure_images` builds what neither the registry nor
the engine has and publishes what the registry lacks. It reaches Docker only through `ImageEngine` (the real ones:
`build.DockerEngine`, the classic builder, and `buildkit.BuildxEngine`, BuildKit; `builders` picks one) and a
registry only through `ImageStore` (the real one is `registry.Registry`); the unit tests use in-memory ones
(tests/forge/fakes.py). Light on purpose: `forge render` imports `version` without Docker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from forge.model import Image
    from forge.progress import Reporter


class ImageEngine(Protocol):
    """Where images are built and pushed from (the Docker engine). Failures are ForgeErrors naming the image."""

    def has(self, ref: str) -> bool:
        """True when the engine has the image `ref` locally."""
        ...

    def build(self, image: Image, progress: Reporter) -> float:
        """Build and tag `image.ref`, reporting its steps; the seconds it took."""
        ...

    def push(self, image: Image, progress: Reporter) -> None:
        """Push `image.ref` to its registry (with the engine's stored credentials)."""
        ...

    def version(self) -> str:
        """The engine's version, e.g. "20.10.24" (what `forge setup` says)."""
        ...

    def builder(self) -> str:
        """Which builder builds, and why, e.g. "BuildKit (docker buildx v0.30.1)"."""
        ...

    def platform(self) -> str:
        """The platform images are built for, the engine's own: "linux/amd64", "linux/arm64"."""
        ...

    def untag(self, ref: str) -> None:
        """Remove the local tag `ref` (nothing when it is already gone)."""
        ...


class ImageStore(Protocol):
    """A registry, read-only: is it there, does it have a tag."""

    host: str

    def ping(self) -> None:
        """ForgeError when the registry does not answer the v2 API."""
        ...

    def has_image(self, ref: str) -> bool:
        """True when the registry has `ref`."""
        ...
