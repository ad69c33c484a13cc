"""How big a seat may get: the one place for the seat's ResourceQuota and LimitRange and the registry pod's size.

Started from what forge renders for pages 3-9 (`forge render` of every service; the requests are in each
service's k8s/deployment.yaml or statefulset.yaml). The busiest moment is page 9 with everything deployed:
qotm x3, usersvc x2 (app + Envoy sidecar), postgres, eds, jaeger, envoy, auth, prometheus = 11 pods asking for
770m CPU and 1088Mi memory, with 3.0Gi of memory limits; a rolling update adds a pod for a moment (envoy: +100m,
+256Mi limit), a canary (page 7) one more qotm. The sizes below give that about 1.5x headroom; `class rehearse`
(later) measures the real peak and refines them here.

CPU limits are not quota'd: CPU is compressible, and the edge's own limit (2 CPUs) would make such a quota
meaningless. Memory limits are: they bound what a seat can take from its node.
"""

from __future__ import annotations

# The seat's ResourceQuota `spec.hard`.
QUOTA: dict[str, str] = {
    "pods": "20",
    "requests.cpu": "1500m",
    "requests.memory": "2Gi",
    "limits.memory": "5Gi",
    "persistentvolumeclaims": "2",  # postgres' data-postgres-0 (page 9), and one spare
    "requests.storage": "2Gi",  # postgres asks 1Gi
    "services": "15",  # page 9 has 11 (qotm, qotm-canary, qotm-vip, auth, envoy, prometheus, usersvc, postgres, ...)
    "services.loadbalancers": "0",  # a cloud LoadBalancer costs money and a public address
    "services.nodeports": "0",  # seats reach their Services through port-forwards (CONVENTIONS.md 4)
    "configmaps": "40",  # forge's inventories (one per build) + envoy, prometheus, jaeger, usersvc configs
    "secrets": "30",
    "count/deployments.apps": "20",
    "count/statefulsets.apps": "5",
    "count/replicasets.apps": "100",  # 10 revisions kept per Deployment
}

# The seat's LimitRange: defaults for a container that names no resources (a bare `kubectl run`), a ceiling
# per container (the largest forge renders: envoy 2 CPUs, prometheus 1Gi) and per claim.
CONTAINER_DEFAULT_REQUEST = {"cpu": "50m", "memory": "64Mi"}
CONTAINER_DEFAULT_LIMIT = {"cpu": "500m", "memory": "256Mi"}
CONTAINER_MAX = {"cpu": "2", "memory": "1Gi"}
CLAIM_MAX = {"storage": "2Gi"}

# One seat's registry pod (in the class namespace): idle most of the day, busy for a few seconds per push.
REGISTRY_RESOURCES = {
    "requests": {"cpu": "10m", "memory": "32Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}
REGISTRY_STORAGE = "2Gi"  # emptyDir sizeLimit: a day of one participant's images (QOTM, auth, usersvc, eds)
