"""Build and push the images a deploy needs, skipping whatever already exists.

An image's tag is the content hash of its sources (forge.images.version), so a tag that exists is the image we would
build: the build is skipped when the registry has the tag, or the local engine has it; the push is skipped when
the registry has it. Builds run first (in parallel, at most `concurrency` at a time) and pushes only once every
build succeeded, so a failing build leaves the registry untouched and the caller applies nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

from forge.errors import ForgeError
from forge.images import ImageEngine, ImageStore
from forge.model import Image
from forge.progress import Reporter

T = TypeVar("T")


@dataclass(frozen=True)
class ImageResult:
    image: Image
    built: bool  # the engine built it in this run
    pushed: bool  # it was pushed in this run


def ensure_images(images: Sequence[Image], *, engine: ImageEngine, store: ImageStore | None, concurrency: int,
                  progress: Reporter) -> list[ImageResult]:
    """Make every image exist in `engine`, and in `store` (a registry) when there is one: build what neither has,
    push what the registry lacks. One result per distinct ref, in order.

    Raises ForgeError for a registry that does not answer, a failing build or a failing push.
    """
    unique = list({image.ref: image for image in images}.values())
    if not unique:
        return []
    if store:
        store.ping()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        in_registry = _run_all(pool, unique, lambda img: bool(store and store.has_image(img.ref)))
        built = _run_all(pool, unique, lambda img: _ensure_local(engine, img, progress, in_registry[img.ref],
                                                                 push=store is not None))
        to_push = [img for img in unique if store and not in_registry[img.ref]]
        pushed = _run_all(pool, to_push, lambda img: engine.push(img, progress))
    return [ImageResult(img, built=built[img.ref], pushed=img.ref in pushed) for img in unique]


def _run_all(pool: ThreadPoolExecutor, images: list[Image], job: Callable[[Image], T]) -> dict[str, T]:
    """Run `job` for every image; on the first failure cancel what has not started and raise the first error
    (in image order), after the running jobs have finished."""
    futures: dict[str, Future[T]] = {img.ref: pool.submit(job, img) for img in images}
    done, _ = wait(futures.values(), return_when="FIRST_EXCEPTION")
    if any(f.exception() for f in done):
        for future in futures.values():
            future.cancel()
        wait(futures.values())
    errors = [f.exception() for f in futures.values() if not f.cancelled() and f.exception()]
    if errors:
        first = errors[0]
        if len(errors) > 1 and isinstance(first, ForgeError):
            raise ForgeError(f"{first.message} (and {len(errors) - 1} more failed)", first.detail,
                             hint=first.hint) from first
        raise first  # type: ignore[misc]
    return {ref: f.result() for ref, f in futures.items()}


def _ensure_local(engine: ImageEngine, image: Image, progress: Reporter, in_registry: bool, push: bool) -> bool:
    """Build the image unless the registry or the engine has it; True when it was built now.

    `push`: a push follows, so the image's progress row stays open.
    """
    report = progress.update if push else progress.finish
    if in_registry:
        progress.finish(image.ref, "up to date in the registry")
        return False
    if engine.has(image.ref):
        report(image.ref, "found in the local engine")
        return False
    seconds = engine.build(image, progress)
    report(image.ref, f"built in {seconds:.1f}s")
    return True
