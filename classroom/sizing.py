"""From a rehearsal's measurements to sizes: a seat's quota (what `class up` applies, sizes.py) and the nodes a
class of N seats needs on common cloud node shapes.

What the scheduler places by is requests, so a node must fit the seats' summed requests; what a seat really uses
(the cluster's metrics, when it has them) can exceed them, so each seat counts with the larger of the two. Nodes
are filled to TARGET_FILL of what they can allocate after the provider's reservations (GKE's documented rule,
close to AKS's; EKS reserves less) and a DaemonSet share per node (kube-proxy, the CNI, a log agent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from kubernetes.utils import parse_quantity

GI = 1024**3
MI = 1024**2
HEADROOM = 1.5  # a seat's quota over its measured peak
TARGET_FILL = 0.8  # of a node's allocatable
DAEMONS_CPU = 0.1  # cores a node's DaemonSets take
DAEMONS_MEMORY = 200 * MI
EVICTION = 100 * MI
MIN_NODES = 2  # one node's loss should not stop the class


@dataclass(frozen=True)
class NodeShape:
    name: str  # e.g. "4 vCPU / 16 GiB"
    examples: str  # the same shape at three clouds
    cpu: float  # cores
    memory: int  # bytes
    max_pods: int = 110


SHAPES = (
    NodeShape("2 vCPU / 8 GiB", "e2-standard-2, m6i.large (29 pods), D2s v5", 2, 8 * GI),
    NodeShape("4 vCPU / 16 GiB", "e2-standard-4, m6i.xlarge (58 pods), D4s v5", 4, 16 * GI),
    NodeShape("8 vCPU / 32 GiB", "e2-standard-8, m6i.2xlarge (58 pods), D8s v5", 8, 32 * GI),
    NodeShape("16 vCPU / 64 GiB", "e2-standard-16, m6i.4xlarge (234 pods), D16s v5", 16, 64 * GI),
)


def _tiers(amount: float, tiers: list[tuple[float, float]]) -> float:
    """Sum of rate x the part of `amount` in each (size, rate) tier, in order."""
    left, reserved = amount, 0.0
    for size, rate in tiers:
        part = min(left, size)
        reserved += part * rate
        left -= part
        if left <= 0:
            break
    return reserved


def allocatable(shape: NodeShape) -> tuple[float, float]:
    """(cores, bytes) pods can use on a node of this shape, after the provider's reservations and DaemonSets."""
    cpu = shape.cpu - _tiers(shape.cpu, [(1, 0.06), (1, 0.01), (2, 0.005), (math.inf, 0.0025)]) - DAEMONS_CPU
    memory = shape.memory - _tiers(shape.memory, [(4 * GI, 0.25), (4 * GI, 0.20), (8 * GI, 0.10),
                                                  (112 * GI, 0.06), (math.inf, 0.02)])
    return cpu, memory - EVICTION - DAEMONS_MEMORY


def cpu_cores(text: str | float | int) -> float:
    return float(parse_quantity(str(text)))


def memory_bytes(text: str | float | int) -> int:
    return int(parse_quantity(str(text)))


@dataclass
class SeatPeak:
    """One seat's peaks over a rehearsal (each the largest sample; samples are summed over the seat's pods)."""

    cpu_requests: float = 0.0  # cores
    memory_requests: int = 0  # bytes
    memory_limits: int = 0
    cpu_used: float | None = None  # from the metrics API; None when the cluster has none
    memory_used: int | None = None
    pods: int = 0
    pvcs: int = 0
    storage: int = 0  # bytes the claims ask

    def add_sample(self, other: SeatPeak) -> None:
        """Keep the larger of each."""
        for name in ("cpu_requests", "memory_requests", "memory_limits", "pods", "pvcs", "storage"):
            setattr(self, name, max(getattr(self, name), getattr(other, name)))
        for name in ("cpu_used", "memory_used"):
            if getattr(other, name) is not None:
                setattr(self, name, max(getattr(self, name) or 0, getattr(other, name)))

    @property
    def cpu(self) -> float:
        """What a node must give this seat: its requests, or what it used if more."""
        return max(self.cpu_requests, self.cpu_used or 0.0)

    @property
    def memory(self) -> int:
        return max(self.memory_requests, self.memory_used or 0)


def largest(peaks: list[SeatPeak]) -> SeatPeak:
    """The seat to size for: every peak the largest any seat reached."""
    found = SeatPeak()
    for peak in peaks:
        found.add_sample(peak)
    return found


def _up(value: float, step: float) -> float:
    """`value` rounded up to a multiple of `step`, at least one step (a quota of 0 admits nothing)."""
    return max(1, math.ceil(value / step - 1e-9)) * step


def quota(peak: SeatPeak) -> dict[str, str]:
    """A seat's ResourceQuota sizes from the largest seat's peaks, with HEADROOM (rounded up: CPU to 100m, memory
    to 256Mi, storage to 1Gi); counts get at least 4 spare pods and 1 spare claim."""
    return {
        "pods": str(max(math.ceil(peak.pods * HEADROOM), peak.pods + 4)),
        "requests.cpu": f"{int(_up(peak.cpu * HEADROOM, 0.1) * 1000)}m",
        "requests.memory": f"{int(_up(peak.memory * HEADROOM / MI, 256))}Mi",
        "limits.memory": f"{int(_up(max(peak.memory_limits, peak.memory) * HEADROOM / GI, 1))}Gi",
        "persistentvolumeclaims": str(peak.pvcs + 1),
        "requests.storage": f"{int(_up(max(peak.storage, GI) * HEADROOM / GI, 1))}Gi",
    }


@dataclass(frozen=True)
class NodePlan:
    shape: NodeShape
    nodes: int
    bound_by: str  # "CPU", "memory", "pods" or "minimum"


@dataclass
class Recommendation:
    seats: int
    cpu: float  # cores for the whole class
    memory: int
    pods: int
    plans: list[NodePlan] = field(default_factory=list)
    chosen: NodePlan | None = None


def recommend(peak: SeatPeak, seats: int, per_seat_extra_cpu: float = 0.0, per_seat_extra_memory: int = 0,
              per_seat_extra_pods: int = 0) -> Recommendation:
    """Nodes for `seats` seats like `peak` (plus what the class runs per seat outside it: its registry pod), on
    each common shape; the chosen one provisions the fewest cores (then the fewest nodes) with at least
    MIN_NODES nodes."""
    cpu = seats * (peak.cpu + per_seat_extra_cpu)
    memory = seats * (peak.memory + per_seat_extra_memory)
    pods = seats * (peak.pods + per_seat_extra_pods)
    found = Recommendation(seats, cpu, memory, pods)
    for shape in SHAPES:
        alloc_cpu, alloc_memory = allocatable(shape)
        needs = {"CPU": math.ceil(cpu / (alloc_cpu * TARGET_FILL)),
                 "memory": math.ceil(memory / (alloc_memory * TARGET_FILL)),
                 "pods": math.ceil(pods / (shape.max_pods - 10)),  # DaemonSets and system pods take ~10 per node
                 "minimum": MIN_NODES}
        bound = max(needs, key=lambda k: needs[k])
        found.plans.append(NodePlan(shape, needs[bound], bound))
    found.chosen = min(found.plans, key=lambda p: (p.nodes * p.shape.cpu, p.nodes))
    return found


def cores_text(cores: float) -> str:
    return f"{cores * 1000:.0f}m" if cores < 10 else f"{cores:.1f}"


def memory_text(amount: int) -> str:
    return f"{amount / GI:.1f}Gi" if amount >= GI else f"{amount / MI:.0f}Mi"
