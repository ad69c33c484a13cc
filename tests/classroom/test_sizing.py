"""The sizing arithmetic of a rehearsal (classroom/sizing.py): a node shape's allocatable after reservations, a
seat's quota from its measured peaks, and the node count for a class on each common shape."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from classroom import sizing
from classroom.sizing import GI, MI, SeatPeak

pytestmark = pytest.mark.unit


def test_allocatable_follows_the_reservation_tiers() -> None:
    cpu, memory = sizing.allocatable(sizing.SHAPES[1])  # 4 vCPU / 16 GiB
    assert cpu == pytest.approx(4 - (0.06 + 0.01 + 2 * 0.005) - 0.1)
    reserved = 4 * GI * 0.25 + 4 * GI * 0.20 + 8 * GI * 0.10
    assert memory == pytest.approx(16 * GI - reserved - 100 * MI - 200 * MI)


def test_a_seat_counts_with_its_requests_or_what_it_used_if_more() -> None:
    peak = SeatPeak(cpu_requests=0.5, memory_requests=512 * MI)
    assert (peak.cpu, peak.memory) == (0.5, 512 * MI)
    peak.add_sample(SeatPeak(cpu_used=0.9, memory_used=256 * MI, pods=7))
    assert (peak.cpu, peak.memory, peak.pods) == (0.9, 512 * MI, 7)
    biggest = sizing.largest([SeatPeak(cpu_requests=0.2, pvcs=1), SeatPeak(memory_limits=3 * GI, pods=12)])
    assert (biggest.cpu_requests, biggest.pvcs, biggest.memory_limits, biggest.pods) == (0.2, 1, 3 * GI, 12)
    assert biggest.cpu_used is None  # no metrics in any sample


def test_quota_is_the_peak_with_headroom_rounded_up() -> None:
    found = sizing.quota(SeatPeak(cpu_requests=0.77, memory_requests=1088 * MI, memory_limits=3 * GI, pods=11,
                                  pvcs=1, storage=GI))
    assert found == {"pods": "17", "requests.cpu": "1200m", "requests.memory": "1792Mi", "limits.memory": "5Gi",
                     "persistentvolumeclaims": "2", "requests.storage": "2Gi"}
    small = sizing.quota(SeatPeak(pods=2))
    assert small["pods"] == "6" and small["requests.storage"] == "2Gi"  # at least 4 spare pods, 1Gi measured
    # a quota of 0 admits nothing: a seat that asked for nothing still gets one step of each
    assert (small["requests.cpu"], small["requests.memory"], small["limits.memory"]) == ("100m", "256Mi", "1Gi")


def test_node_count_per_shape_and_the_choice() -> None:
    peak = SeatPeak(cpu_requests=0.77, memory_requests=1088 * MI, pods=11)
    found = sizing.recommend(peak, 30, per_seat_extra_cpu=0.01, per_seat_extra_memory=32 * MI, per_seat_extra_pods=1)
    assert found.cpu == pytest.approx(30 * 0.78) and found.pods == 360
    plans = {p.shape.name: p for p in found.plans}
    for plan in found.plans:
        cpu, memory = sizing.allocatable(plan.shape)
        assert plan.nodes >= math.ceil(found.cpu / (cpu * sizing.TARGET_FILL))
        assert plan.nodes >= math.ceil(found.memory / (memory * sizing.TARGET_FILL))
        assert plan.nodes >= sizing.MIN_NODES
    assert (plans["2 vCPU / 8 GiB"].nodes, plans["2 vCPU / 8 GiB"].bound_by) == (16, "CPU")
    assert (plans["16 vCPU / 64 GiB"].nodes, plans["16 vCPU / 64 GiB"].bound_by) == (4, "pods")
    assert found.chosen is not None
    assert found.chosen.nodes * found.chosen.shape.cpu == min(p.nodes * p.shape.cpu for p in found.plans)
    tiny = sizing.recommend(SeatPeak(cpu_requests=0.05, memory_requests=64 * MI, pods=1), 1)
    assert all(p.nodes == sizing.MIN_NODES and p.bound_by == "minimum" for p in tiny.plans)


def test_quantities() -> None:
    assert sizing.cpu_cores("1500m") == 1.5 and sizing.memory_bytes("2Gi") == 2 * GI
    assert sizing.cores_text(0.77) == "770m" and sizing.memory_text(1088 * MI) == "1.1Gi"


def test_class_up_sizes_each_seats_quota_from_a_rehearsal(tmp_path: Path) -> None:
    from classroom import reset, sizes, up
    from tests.classroom.fake_api import FakeClassAPI

    api = FakeClassAPI()
    now = datetime.now(UTC)
    measured = {"pods": "17", "requests.cpu": "1200m", "requests.memory": "1792Mi", "limits.memory": "5Gi",
                "persistentvolumeclaims": "2", "requests.storage": "2Gi"}
    path = tmp_path / "class-sizes.yaml"
    path.write_text(yaml.safe_dump({"seats": 3, "quota": measured}))
    opts = up.UpOptions("room", ["ana"], tmp_path / "join", now + timedelta(hours=2), registry_image="registry:2",
                        quota=sizes.read_measured(path))
    up.up(api, opts, now, lambda _: None)
    hard = api.find("ResourceQuota", "room-ana", "seat")["spec"]["hard"]
    assert hard == {**sizes.QUOTA, **measured} and hard["services.nodeports"] == "0"
    up.add(api, up.UpOptions("room", ["bob"], tmp_path / "join", registry_image="registry:2"), now, lambda _: None)
    assert api.find("ResourceQuota", "room-bob", "seat")["spec"]["hard"] == hard  # the class keeps them
    up.up(api, up.UpOptions("room", ["ana", "bob"], tmp_path / "join", registry_image="registry:2"), now,
          lambda _: None)
    assert api.find("ResourceQuota", "room-ana", "seat")["spec"]["hard"] == hard  # a re-run without --sizes too
    reset.reset(api, "room", "ana", "registry:2", lambda _: None)
    assert api.find("ResourceQuota", "room-ana", "seat")["spec"]["hard"] == hard


@pytest.mark.parametrize("text, error", [
    ("quota: {pods: '10', cpu: 1}\n", "quota: cpu: not a measured quota entry"),
    ("quota: {requests.cpu: lots}\n", "quota: requests.cpu: 'lots' is not a positive quantity"),
    ("quota: {pods: '0'}\n", "quota: pods: '0' is not a positive quantity"),
    ("seats: 3\n", "not class rehearse's class-sizes.yaml (no quota)"),
    ("quota: [1]\n", "quota: expected the measured quota"),
])
def test_a_bad_sizes_file_is_refused_naming_it(tmp_path: Path, text: str, error: str) -> None:
    from classroom import sizes
    from classroom.errors import UsageError

    path = tmp_path / "class-sizes.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as refused:
        sizes.read_measured(path)
    assert str(refused.value).startswith(f"{path}: {error}")
