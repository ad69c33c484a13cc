"""`class rehearse` without a cluster (classroom/rehearse.py): the pages' marks parsed into times, the sampler over
the in-memory ClassAPI (requests and limits summed per seat, claims, the metrics API when served), the seats run at
the same time through a fake runner that deploys pods as it goes, and the report with its quota and node plan.
The real rehearsal (kind, joined shells): tests/class_cluster/test_class_rehearse.py."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from classroom import rehearse, sizing
from classroom.errors import ClassError, UsageError
from classroom.sizing import GI, MI
from tests.classroom.fake_api import FakeClassAPI

pytestmark = pytest.mark.unit


def test_pages_option() -> None:
    assert rehearse.parse_pages("3-9") == (3, 4, 5, 6, 7, 8, 9)
    assert rehearse.parse_pages("5,3") == (3, 5)
    for bad in ("1-3", "x", "3-", ""):
        with pytest.raises(UsageError):
            rehearse.parse_pages(bad)


def test_the_script_marks_each_page_and_the_marks_give_the_times() -> None:
    text = rehearse.script([3, 4])
    assert "lab solve 3" in text and "lab solve 4" in text
    output = "\n".join(["@@rehearse 3 start 100.0", "noise", "@@rehearse 3 ok 142.5", "@@rehearse 4 start 142.6",
                        "@@rehearse 4 failed 150.6"])
    assert rehearse.page_runs(output) == [rehearse.PageRun(3, 42.5, True), rehearse.PageRun(4, 8.0, False)]
    assert rehearse.script([3], "my rc.sh").splitlines()[0] == "export BASH_ENV=\"$PWD\"/'my rc.sh'"


def test_a_shell_rc_outside_the_workshop_is_refused(tmp_path: Path) -> None:
    from classroom.rehearse_command import shell_rc

    (tmp_path / "ws" / "sub").mkdir(parents=True)
    (tmp_path / "ws" / "sub" / "rc.sh").write_text("true\n")
    (tmp_path / "elsewhere.sh").write_text("true\n")
    assert shell_rc(Path("sub/rc.sh"), tmp_path / "ws") == "sub/rc.sh"
    assert shell_rc(tmp_path / "ws" / "sub" / "rc.sh", tmp_path / "ws") == "sub/rc.sh"
    with pytest.raises(UsageError, match=r"--shell-rc \.\./elsewhere\.sh: not in the workshop's directory"):
        shell_rc(Path("../elsewhere.sh"), tmp_path / "ws")
    with pytest.raises(UsageError, match=r"--shell-rc none\.sh: no such file"):
        shell_rc(Path("none.sh"), tmp_path / "ws")


def pod(namespace: str, name: str, cpu: str, memory: str, limit: str, phase: str = "Running") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": cpu, "memory": memory},
                                                                   "limits": {"memory": limit}}}]},
            "status": {"phase": phase}}


class MetricsAPI(FakeClassAPI):
    """The in-memory API, serving the metrics API or not."""

    def __init__(self, metrics: bool) -> None:
        super().__init__()
        self.serves_metrics = metrics

    def list(self, api_version: str, kind: str, namespace: str = "", selector: str | None = None) -> list[dict]:
        if kind == "PodMetrics" and not self.serves_metrics:
            raise ClassError("the server doesn't have a resource type PodMetrics")
        return super().list(api_version, kind, namespace, selector)


def namespaces(api: FakeClassAPI, *names: str) -> None:
    for name in names:
        api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def test_the_sampler_sums_requests_limits_and_claims_per_seat() -> None:
    api = MetricsAPI(metrics=False)
    namespaces(api, "rehearsal-a", "rehearsal-b")
    api.put(pod("rehearsal-a", "qotm-1", "50m", "64Mi", "128Mi"))
    api.put(pod("rehearsal-a", "envoy-1", "100m", "128Mi", "256Mi"))
    api.put(pod("rehearsal-a", "done-1", "1", "1Gi", "1Gi", phase="Succeeded"))  # not counted
    api.put({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "data-postgres-0", "namespace": "rehearsal-a"},
             "spec": {"resources": {"requests": {"storage": "1Gi"}}}})
    api.put(pod("rehearsal-b", "qotm-1", "50m", "64Mi", "128Mi"))
    sampler = rehearse.Sampler(api, "rehearsal", ["a", "b"], interval=0.01)
    sampler.round()
    a = sampler.peaks["a"]
    assert (a.cpu_requests, a.memory_requests, a.memory_limits, a.pods, a.pvcs, a.storage) == pytest.approx(
        (0.15, 192 * MI, 384 * MI, 2, 1, GI))
    assert a.cpu_used is None and sampler.metrics is False
    assert sampler.total.cpu_requests == pytest.approx(0.2) and sampler.total.pods == 3
    api.delete("v1", "Pod", "rehearsal-a", "envoy-1")
    sampler.round()
    assert sampler.peaks["a"].pods == 2  # a peak stays


def test_the_sampler_reads_what_pods_use_where_the_cluster_serves_metrics() -> None:
    api = MetricsAPI(metrics=True)
    namespaces(api, "rehearsal-a")
    api.put(pod("rehearsal-a", "qotm-1", "50m", "64Mi", "128Mi"))
    api.put({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
             "metadata": {"name": "qotm-1", "namespace": "rehearsal-a"},
             "containers": [{"name": "app", "usage": {"cpu": "250000000n", "memory": "100Mi"}}]})
    sampler = rehearse.Sampler(api, "rehearsal", ["a"], interval=0.01)
    sampler.round()
    peak = sampler.peaks["a"]
    assert (peak.cpu_used, peak.memory_used) == pytest.approx((0.25, 100 * MI))
    assert peak.cpu == pytest.approx(0.25) and peak.memory == 100 * MI  # used above the requests
    assert sampler.metrics is True and sampler.total.cpu_used == pytest.approx(0.25)


class DeployingRunner:
    """A seat that deploys a pod per page (the page's time passes while the sampler reads), page 4 failing in
    seat b; records which seats ran at the same time."""

    def __init__(self, api: FakeClassAPI) -> None:
        self.api = api
        self.running: set[str] = set()
        self.together = 0
        self.lock = threading.Lock()
        self.barrier = threading.Barrier(2)

    def __call__(self, seat: str, join: Path, pages: Sequence[int], log: Path) -> list[rehearse.PageRun]:
        with self.lock:
            self.running.add(seat)
            self.together = max(self.together, len(self.running))
        self.barrier.wait(timeout=10)
        found = []
        for page in pages:
            self.api.put(pod(f"rehearsal-{seat}", f"p{page}", "100m", "128Mi", "256Mi"))
            self.api.put({"apiVersion": "v1", "kind": "Event",
                          "metadata": {"name": f"pull-{page}", "namespace": f"rehearsal-{seat}"},
                          "reason": "Pulling", "count": 1})
            threading.Event().wait(0.05)
            found.append(rehearse.PageRun(page, 0.05, not (seat == "b" and page == 4)))
        log.write_text("done\n")
        with self.lock:
            self.running.discard(seat)
        return found


def test_a_rehearsal_runs_the_seats_at_once_and_reports_sizes(tmp_path: Path) -> None:
    api = MetricsAPI(metrics=False)
    namespaces(api, "rehearsal-a", "rehearsal-b")
    runner = DeployingRunner(api)
    said: list[str] = []
    found = rehearse.rehearse(api, ["a", "b"], tmp_path / "join", runner, [3, 4, 5], 0.01, tmp_path / "logs",
                              said.append)
    assert runner.together == 2
    a, b = found.seats
    assert (a.peak.pods, a.pulls, a.failures) == (3, 3, [])
    assert b.failures == ["page 4"]
    assert found.total.pods == 6 and found.total.cpu_requests == pytest.approx(0.6)
    said.sort()  # the seats finish in any order
    assert said[0].startswith("seat a: page 3 ok") and "page 4 FAILED" in said[1]
    text, measured = rehearse.report(found, [3, 4, 5], 30)
    lines = text.splitlines()
    assert lines[0].startswith("rehearsal: 2 seats through pages 3, 4, 5 at once")
    assert "the pods' requests (the cluster serves no metrics)" in lines[0]
    table = [line.split() for line in lines if line.startswith(("SEAT", "a ", "b ", "TOTAL"))]
    assert table[0][:8] == ["SEAT", "CPU", "REQ", "MEM", "REQ", "MEM", "LIM", "PODS"]
    assert table[1][:2] == ["a", "300m"] and table[2][-1] == "1" and table[3][:2] == ["TOTAL", "600m"]
    assert "  b: page 4" in lines
    assert measured["quota"] == sizing.quota(sizing.largest([a.peak, b.peak]))
    assert measured["recommended"]["class_size"] == 30
    assert measured["peak"] == {"cpu": "300m", "memory": "384Mi", "memory_limits": "768Mi", "pods": 3, "pvcs": 0,
                                "storage": "0Mi"}  # exact quantities (the largest seat's), for sizes.py
    assert lines[-1].startswith(f"recommended: {measured['recommended']['nodes']} nodes of ")
    rehearse.write_sizes(tmp_path / "class-sizes.yaml", measured)
    assert yaml.safe_load((tmp_path / "class-sizes.yaml").read_text())["quota"] == measured["quota"]


def test_a_seat_whose_run_breaks_is_a_failure_not_a_crash(tmp_path: Path) -> None:
    api = MetricsAPI(metrics=False)
    namespaces(api, "rehearsal-a")

    def broken(seat: str, join: Path, pages: Sequence[int], log: Path) -> list[rehearse.PageRun]:
        raise ClassError(f"seat {seat}: the joined shell ended (exit 1): no such join file")

    found = rehearse.rehearse(api, ["a"], tmp_path, broken, [3], 0.01, tmp_path / "logs", lambda _: None)
    assert found.seats[0].failures == ["seat a: the joined shell ended (exit 1): no such join file"]
    assert rehearse.report(found, [3], 30)[0].count("seat a: the joined shell ended") == 1


def test_copy_workspace_is_a_git_repository_without_the_class_files(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "qotm").mkdir(parents=True)
    (root / "qotm" / "qotm.py").write_text("print('hi')\n")
    (root / "class-room").mkdir()
    (root / "class-room" / "seat-01.yaml").write_text("secret\n")
    (root / ".venv").mkdir()
    if os.geteuid() == 0:  # the workspace of a participant the shell runs as (root's copies would be read-only)
        os.chown(root, 1234, 1234)
    rehearse.copy_workspace(root, tmp_path / "copy")
    assert (tmp_path / "copy" / "qotm" / "qotm.py").exists() and (tmp_path / "copy" / ".git").is_dir()
    assert not (tmp_path / "copy" / "class-room").exists() and not (tmp_path / "copy" / ".venv").exists()
    copied = [tmp_path / "copy", *(tmp_path / "copy").rglob("*")]
    assert {path.lstat().st_uid for path in copied} == {root.stat().st_uid}  # owned as the workspace is
