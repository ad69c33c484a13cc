# The one entry point: `make test` installs and starts what the tests need, lints, and runs every tier.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV ?= .venv
PY := $(VENV)/bin/python
# Lock files: every version with the hashes of all its files on PyPI, for any platform (alpine images, Debian hosts).
UV_LOCK := --generate-hashes --universal --python-version 3.11 --custom-compile-command 'make lock'

.PHONY: test setup setup-shell-images setup-cluster-images lint test-unit test-tier test-class-replay bench lock slides slides-pdf slides-serve

test: setup lint
	$(PY) -m tests.platform.tiers unit dataplane docker cluster workshop

# Idempotent: installs what is missing, starts dockerd, builds the cached control plane and base images.
# After the control plane (both chains use its binaries), the shell's images and the cluster's images are built as two
# chains at once: a cold setup (34 min here, one chain after the other) kept the 2 cores busy only two thirds of
# the time, waiting on module and package downloads. The caches they share are taken under file locks.
setup:
	bash tests/platform/install.sh
	bash tests/platform/start.sh
	bash tests/cluster/build.sh >/dev/null
	$(MAKE) --no-print-directory -j2 setup-shell-images setup-cluster-images

setup-shell-images:
	bash tests/platform/build_cli_plugin.sh --install compose >/dev/null
	bash tests/platform/build_cli_plugin.sh --install buildx >/dev/null
	$(PY) -m tests.platform.base_images
	$(PY) -m tests.shopbox.offline_image
	$(PY) -m tests.shopbox.offline_image arm64
	$(PY) -m tests.arm64.images >/dev/null

setup-cluster-images:
	bash tests/services/build_prometheus.sh
	bash tests/services/build_kube_score.sh >/dev/null
	bash tests/mesh/build_jaeger.sh >/dev/null
	$(PY) -m tests.kind.node_image >/dev/null
	$(PY) -m tests.kind.standins >/dev/null

lint:
	bash tests/platform/lint.sh

# Quick loop while coding: the unit tier only (needs `make setup` once).
test-unit:
	$(PY) -m tests.platform.tiers unit

# One tier: make test-tier TIER=dataplane
test-tier:
	$(PY) -m tests.platform.tiers $(TIER)

# Classroom mode on the class cluster with the concurrent replay (pages 3-7 in 3 joined seats at once, then 8-9 in
# one): longer than the cold `make test` can afford, so not part of it (tests/README.md).
test-class-replay:
	SHOPBOX_CLASS_REPLAY=1 $(PY) -m pytest -m workshop tests/class_cluster/test_class_join.py

bench:
	$(PY) -m tests.bench

# The workshop deck: static offline HTML in slides/build/ (npm ci of the pinned Marp CLI on first use).
slides:
	$(PY) -m slides build

# The deck as slides/build/deck.pdf (headless Chromium; speaker notes as PDF annotations).
slides-pdf:
	$(PY) -m slides pdf

# Serve the built deck on 127.0.0.1 and print its URL.
slides-serve: slides
	$(PY) -m slides serve

# Re-make every hash-locked requirements file from its input (needs PyPI): the services' images, the test venv,
# forge in the shell image.
lock:
	cd qotm && ../$(VENV)/bin/uv pip compile -q requirements.in $(UV_LOCK) -o requirements.txt
	cd envoy-canary/auth && ../../$(VENV)/bin/uv pip compile -q requirements.in $(UV_LOCK) -o requirements.txt
	cd usersvc && ../$(VENV)/bin/uv pip compile -q requirements.in $(UV_LOCK) -o requirements.txt
	cd eds && ../$(VENV)/bin/uv pip compile -q requirements.in $(UV_LOCK) -o requirements.txt
	$(VENV)/bin/uv pip compile -q pyproject.toml --extra test $(UV_LOCK) -o tests/platform/requirements.lock
	$(VENV)/bin/uv pip compile -q pyproject.toml $(UV_LOCK) -o shopbox/requirements.lock
