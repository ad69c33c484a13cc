"""usersvc's and eds's Dockerfiles and build contexts (unit): the same rules as QOTM's, and pins that agree with the
tests."""

from __future__ import annotations

import re
import tomllib

import pytest

from forge.config.descriptor import load_service
from forge.images.version import context_files
from tests.mesh.apps import EDS_DIR, USERSVC_DIR
from tests.platform.base_images import ROOT
from tests.services.apps import QOTM_DIR
from tests.services.test_images import PIN, locked
from versions_env import read_versions

pytestmark = pytest.mark.unit


def test_dockerfile_base_is_the_pinned_python_and_runs_gunicorn_as_non_root() -> None:
    dockerfile = (USERSVC_DIR / "Dockerfile").read_text()
    (default,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    assert default == read_versions(ROOT / "versions.env")["PYTHON_BASE_IMAGE"]
    assert re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE) == ["10001:10001"]
    assert 'CMD ["python", "-m", "gunicorn", "usersvc:from_environment()"]' in dockerfile


def test_build_context_holds_only_what_the_image_needs() -> None:
    (container,) = load_service(USERSVC_DIR / "service.yaml").containers
    assert context_files(container) == sorted([".dockerignore", "Dockerfile", "gunicorn.conf.py", "requirements.txt",
                                               "usersvc.py", "userstore.py", "quoteclient.py"])


def test_requirements_agree_with_qotm_and_the_test_environment() -> None:
    usersvc, qotm = locked(USERSVC_DIR / "requirements.txt"), locked(QOTM_DIR / "requirements.txt")
    assert {name: usersvc[name] for name in set(usersvc) & set(qotm)} == {n: qotm[n] for n in set(usersvc) & set(qotm)}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = [*project["dependencies"], *project["optional-dependencies"]["test"]]  # flask: the portal's too
    tested = {m[1].lower(): m[2] for m in map(PIN.fullmatch, pins) if m}
    for name in ("psycopg", "psycopg-binary", "psycopg-pool", "flask", "gunicorn"):
        assert usersvc[name] == tested[name], f"{name}: image pins {usersvc[name]}, tests run {tested[name]}"


def test_eds_image_pins_the_kubernetes_client_forge_uses() -> None:
    dockerfile = (EDS_DIR / "Dockerfile").read_text()
    (default,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    assert default == read_versions(ROOT / "versions.env")["PYTHON_BASE_IMAGE"]
    assert re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE) == ["10001:10001"]
    (container,) = load_service(EDS_DIR / "service.yaml").containers
    assert context_files(container) == sorted([".dockerignore", "Dockerfile", "requirements.txt", "eds.py",
                                               "eds_translate.py", "eds_watch.py"])
    runtime = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    forge_pins = {m[1].lower(): m[2] for m in map(PIN.fullmatch, runtime) if m}
    eds = locked(EDS_DIR / "requirements.txt")
    for name in ("kubernetes", "pyyaml", "requests"):
        assert eds[name] == forge_pins[name], f"{name}: eds pins {eds[name]}, forge {forge_pins[name]}"
