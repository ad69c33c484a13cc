"""The in-cluster checks of `./shopbox.sh doctor` (shopbox-setup doctor) through the fake engine and a stand-in
for the HTTP answers; test_doctor.py runs them in the real image against the real engine."""

from __future__ import annotations

import pytest

from shopbox_setup import cli, doctor
from shopbox_setup.settings import Settings
from tests.shopbox.fake_runner import FakeEngine
from tests.shopbox.offline_image import versions

pytestmark = pytest.mark.unit

S = Settings(versions=versions())


def answers(**codes: int):
    """status(url) from {"v2": code, "livez": code}; no answer for anything else."""
    return lambda url: next((code for key, code in codes.items() if url.endswith(f"/{key}") or
                             url.endswith(f"/{key}/")), None)


def test_nothing_created_yet():
    assert doctor.checks(FakeEngine(), S, status=answers()) == [
        doctor.Check("missing", "kind-network", "no Docker network kind", "./shopbox.sh creates it (with the cluster)"),
        doctor.Check("missing", "registry", "no container shopbox-registry", "./shopbox.sh creates it"),
        doctor.Check("missing", "api-server", "no kind cluster shopbox", "./shopbox.sh creates it"),
    ]


def test_everything_answers():
    engine = FakeEngine(containers={"shopbox-registry": "running"}, networks={"kind": []})
    engine.node("shopbox", "shopbox-control-plane")
    seen = []

    def status(url):
        seen.append(url)
        return 200
    found = doctor.checks(engine, S, host="host.docker.internal", status=status)
    assert [c.status for c in found] == ["ok", "ok", "ok"]
    assert found[1].detail == "shopbox-registry answers at http://localhost:5001/v2/"
    assert found[2].detail == "https://127.0.0.1:6443 is live (nodes: shopbox-control-plane:running)"
    assert seen == ["http://host.docker.internal:5001/v2/", "https://host.docker.internal:6443/livez"]


def test_a_stopped_or_silent_registry_and_a_silent_cluster_fail_with_their_fix():
    engine = FakeEngine(containers={"shopbox-registry": "exited"})
    engine.node("shopbox", "shopbox-control-plane", "exited")
    _, registry, api = doctor.checks(engine, S, status=answers())
    assert registry == doctor.Check("fail", "registry", "container shopbox-registry is exited",
                                    "docker start shopbox-registry")
    assert api.status == "fail" and api.detail == ("cluster shopbox (nodes: shopbox-control-plane:exited) does not "
                                                   "answer on https://127.0.0.1:6443")
    assert api.fix.startswith("docker start shopbox-control-plane;")
    engine.containers["shopbox-registry"] = "running"
    _, registry, _ = doctor.checks(engine, S, status=answers(v2=503))
    assert registry.status == "fail" and "does not answer (503)" in registry.detail


def test_lines_are_shopbox_sh_report_lines():
    check = doctor.Check("missing", "registry", "no container r", "./shopbox.sh creates it")
    assert check.lines() == ("[MISS] registry       no container r\n"
                             "                      fix: ./shopbox.sh creates it")
    assert doctor.Check("ok", "kind-network", "kind exists").lines() == "[ OK ] kind-network   kind exists"


def test_http_status_without_an_answer():
    assert doctor.http_status("http://127.0.0.1:1/v2/") is None  # nothing listens on port 1


def test_the_doctor_verb_prints_the_checks(capsys, monkeypatch):
    monkeypatch.setattr(doctor, "checks", lambda runner, s, host: [doctor.Check("ok", "kind-network", host)])
    monkeypatch.setenv("SHOPBOX_HOST", "h")
    assert cli.main(["doctor"]) == 0
    assert capsys.readouterr().out == "[ OK ] kind-network   h\n"
