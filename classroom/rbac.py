"""What a seat may do: the rules of its Role, derived from pages 3-9 and from what forge does there.

The Role is bound in the seat's namespace only, so every rule is about that namespace (a namespaced Role cannot
grant cluster-scoped objects, and its `namespaces: get` reads only the seat's own Namespace object). Nothing here
lets a seat change its ResourceQuota, its LimitRange or its Namespace (labels: Pod Security); the admission
policy (policy.py) keeps it from changing the class's own objects, which the write rules below would otherwise
cover (NetworkPolicies, the ServiceAccounts, Roles and RoleBindings the class made).

RBAC's escalation check applies: a seat can create a Role (eds, prometheus do) only with rules it holds itself.
It holds `bind` on the Roles of its namespace (not on ClusterRoles), because forge dry-runs a service's objects on
the server before applying any: a RoleBinding whose Role does not exist yet passes RBAC only by `bind` (without it
the API server looks the Role up to compare rules, and finds none). The only Roles in a seat namespace are the
seat's own and those it made within its rules; binding a ClusterRole still takes holding its rules. No `escalate`
or `impersonate` is granted.
"""

from __future__ import annotations

from typing import Any

READ = ["get", "list", "watch"]
WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]


def rule(groups: list[str], resources: list[str], verbs: list[str],
         names: list[str] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    if names:
        found["resourceNames"] = names
    return found


# Each rule with the page lines and forge calls that need it.
SEAT_RULES: list[dict[str, Any]] = [
    # Pods: `kubectl run`/`delete pod` (pages 3, 9), forge's waiter and `forge list`/`logs` read them; `kubectl
    # delete pod postgres-0` (page 9).
    rule([""], ["pods"], WRITE),
    # `kubectl logs` (pages 3, 5), `forge logs`, forge's waiter (the last lines of a crashing container).
    rule([""], ["pods/log"], ["get"]),
    # `kubectl exec` (page 9: psql) and `kubectl port-forward` (pages 3-9). kubectl >= 1.31 opens them as a
    # WebSocket (GET), which the API server authorizes as `create`; older clients POST.
    rule([""], ["pods/exec", "pods/portforward"], ["get", "create"]),
    # forge applies (server-side apply = patch, create on first apply), prunes and deletes these; the pages
    # `kubectl apply`/`expose`/`create secret` them; `lab` writes its progress record (a ConfigMap).
    rule([""], ["services", "configmaps", "secrets", "serviceaccounts", "persistentvolumeclaims"], WRITE),
    # Read-only: prometheus' Role (discovery: pods, endpoints, services) needs endpoints to be held by whoever
    # creates it; events for `kubectl describe`/`get events` (page 3's check) and forge's quota diagnosis; the
    # seat's own quota and limits, so that a participant can see why a pod is refused.
    rule([""], ["endpoints", "events", "resourcequotas", "limitranges"], READ),
    # The seat's own Namespace object (forge setup reads its Pod Security labels); a RoleBinding confines this
    # to the seat's namespace. No update: the labels stay the class's.
    rule([""], ["namespaces"], ["get"]),
    # Workloads: forge's Deployments and StatefulSet (postgres, page 9); `kubectl scale`, `rollout undo`/`history`
    # (page 3) read ReplicaSets and ControllerRevisions and write through the scale subresource.
    rule(["apps"], ["deployments", "replicasets", "statefulsets"], WRITE),
    rule(["apps"], ["deployments/scale", "replicasets/scale", "statefulsets/scale"], ["get", "update", "patch"]),
    rule(["apps"], ["controllerrevisions"], READ),
    # EndpointSlices: pages 3 and 9 read them; eds' Role (list, watch) and prometheus' need them held.
    rule(["discovery.k8s.io"], ["endpointslices"], READ),
    # Every service ships a NetworkPolicy; the admission policy keeps the seat's own ones narrow.
    rule(["networking.k8s.io"], ["networkpolicies"], WRITE),
    # qotm and usersvc ship a PodDisruptionBudget.
    rule(["policy"], ["poddisruptionbudgets"], WRITE),
    # eds and prometheus create their own Role and RoleBinding (within what the seat holds: RBAC's escalation
    # check).
    rule(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], WRITE),
    # forge's server-side dry run of a RoleBinding before its Role exists (see above); namespaced Roles only.
    rule(["rbac.authorization.k8s.io"], ["roles"], ["bind"]),
    # `kubectl events` reads the events.k8s.io API.
    rule(["events.k8s.io"], ["events"], READ),
    # `kubectl get all` (what participants type to look around) also lists these; read-only, none is created.
    rule([""], ["replicationcontrollers"], READ),
    rule(["apps"], ["daemonsets"], READ),
    rule(["autoscaling"], ["horizontalpodautoscalers"], READ),
    rule(["batch"], ["jobs", "cronjobs"], READ),
]


def registry_rules(pod: str) -> list[dict[str, Any]]:
    """The seat's rights in the class namespace: port-forward to its own registry pod (the joined shell pushes
    through it) and nothing else, not even the other registries' pods."""
    return [
        rule([""], ["pods"], ["get"], [pod]),
        rule([""], ["pods/portforward"], ["get", "create"], [pod]),
    ]
