"""The seat's objects as data: the Role against what pages 3-9 and forge need, the quota against what forge renders,
the network policies, the admission policy and every object's labels. Their enforcement by a real API server is
tests/classroom/test_class_cluster.py's."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from classroom import joinfile, names, policy, rbac, registry, seat, sizes
from classroom.errors import UsageError
from classroom.model import ApiEndpoint, ClassSpec, Registry
from tests.classroom.rendered import rendered as rendered_text

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SPEC = ClassSpec(name="room", ends=datetime(2030, 5, 4, 17, 30, tzinfo=UTC), cluster_id="c-1",
                 server="https://k8s.example:6443", ca_data="", registry_image="registry:2",
                 api_endpoints=(ApiEndpoint("172.18.0.2", 6443),))
REGISTRY = Registry("localhost:31000", "ana", "pw", pod="registry-ana-0", port=5000)


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    """What forge renders for every service of pages 3-9 (the workspace root: all of them)."""
    return [d for d in yaml.safe_load_all(rendered_text()) if d]


def objects() -> list[dict[str, Any]]:
    return seat.seat_objects(SPEC, "ana", REGISTRY)


def by_kind(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects() if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, found)
    return found[0]


def allows(rules: list[dict[str, Any]], group: str, resource: str, verb: str) -> bool:
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"]
               and not r.get("resourceNames") for r in rules)


# -- labels and names ----------------------------------------------------------------------------------------


def test_every_seat_object_is_labelled_as_the_class_and_seat_and_lives_in_the_seat_namespace() -> None:
    for obj in [*objects(), *registry.seat_access(SPEC, "ana"), registry.statefulset(SPEC, "ana"),
                registry.service(SPEC, "ana"), registry.secret(SPEC, "ana", "ana", "pw", "ana:x\n")]:
        labels = obj["metadata"]["labels"]
        assert labels[names.LABEL_CLASS] == "room" and labels[names.LABEL_SEAT] == "ana", obj["kind"]
        assert obj["metadata"].get("namespace") in (None, "room-ana", "room"), obj["kind"]
    assert by_kind("Namespace")["metadata"]["name"] == "room-ana"


def test_the_seat_namespace_enforces_pod_security_restricted() -> None:
    labels = by_kind("Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels[names.LABEL_PART] == names.PART_SEAT


def test_the_admission_policy_and_binding_carry_the_class_label_and_select_its_seat_namespaces() -> None:
    vap, binding = policy.admission_policy("room"), policy.admission_binding("room")
    assert vap["metadata"]["labels"][names.LABEL_CLASS] == "room"
    assert binding["spec"]["policyName"] == vap["metadata"]["name"]
    assert binding["spec"]["matchResources"]["namespaceSelector"]["matchLabels"] == {
        names.LABEL_CLASS: "room", names.LABEL_PART: names.PART_SEAT}
    assert binding["spec"]["validationActions"] == ["Deny"]


# -- the Role --------------------------------------------------------------------------------------------------


def test_the_seat_role_grants_no_escalation_and_nothing_on_its_namespace_quota_or_limits() -> None:
    rules = by_kind("Role")["rules"]
    verbs = {v for r in rules for v in r["verbs"]}
    assert not verbs & {"escalate", "impersonate", "*"}
    # `bind` only on the namespace's Roles (forge's dry run of a RoleBinding before its Role exists)
    assert [r for r in rules if "bind" in r["verbs"]] == [
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["bind"]}]
    assert not any("*" in r["resources"] or "*" in r["apiGroups"] for r in rules)
    for resource in ("namespaces", "resourcequotas", "limitranges"):
        assert not any(allows(rules, "", resource, verb) for verb in ("create", "update", "patch", "delete"))
    assert allows(rules, "", "namespaces", "get")  # its own Namespace object only (the RoleBinding's namespace)
    for resource in ("nodes", "persistentvolumes", "clusterroles", "storageclasses"):
        assert not any(resource in r["resources"] for r in rules)


@pytest.mark.parametrize(("group", "resource", "verb"), [
    ("", "pods", "create"), ("", "pods/log", "get"), ("", "pods/exec", "create"), ("", "pods/portforward", "create"),
    ("", "secrets", "create"), ("", "configmaps", "patch"), ("", "services", "delete"),
    ("", "persistentvolumeclaims", "delete"), ("", "serviceaccounts", "create"), ("", "events", "list"),
    ("apps", "deployments", "patch"), ("apps", "statefulsets", "create"), ("apps", "deployments/scale", "update"),
    ("apps", "replicasets", "list"), ("apps", "controllerrevisions", "list"),
    ("networking.k8s.io", "networkpolicies", "create"), ("policy", "poddisruptionbudgets", "patch"),
    ("rbac.authorization.k8s.io", "roles", "create"), ("rbac.authorization.k8s.io", "rolebindings", "create"),
    ("discovery.k8s.io", "endpointslices", "watch"),
])
def test_the_seat_role_allows_what_the_pages_and_forge_do(group: str, resource: str, verb: str) -> None:
    assert allows(by_kind("Role")["rules"], group, resource, verb)


def test_every_role_forge_renders_is_within_the_seat_role(rendered: list[dict[str, Any]]) -> None:
    """RBAC's escalation check: a seat can create eds' and prometheus' Roles only if it holds their rules."""
    roles = [d for d in rendered if d["kind"] == "Role"]
    assert {r["metadata"]["name"] for r in roles} >= {"prometheus", "eds-endpointslice-reader"}
    for found in roles:
        for r in found["rules"]:
            for group in r["apiGroups"]:
                for resource in r["resources"]:
                    for verb in r["verbs"]:
                        assert allows(rbac.SEAT_RULES, group, resource, verb), (found["metadata"], resource, verb)


PLURALS = {"ServiceAccount": "serviceaccounts", "Role": "roles", "RoleBinding": "rolebindings",
           "ConfigMap": "configmaps", "Secret": "secrets", "Service": "services", "Deployment": "deployments",
           "StatefulSet": "statefulsets", "NetworkPolicy": "networkpolicies",
           "PodDisruptionBudget": "poddisruptionbudgets"}


def test_every_kind_forge_renders_is_one_the_seat_may_apply(rendered: list[dict[str, Any]]) -> None:
    """forge applies with server-side apply (patch, create on the first apply) and prunes (delete)."""
    for doc in rendered:
        group = doc["apiVersion"].rsplit("/", 1)[0] if "/" in doc["apiVersion"] else ""
        assert doc["kind"] in PLURALS, f"forge renders a {doc['kind']}: is it one a seat may apply?"
        for verb in ("create", "patch", "delete", "get"):
            assert allows(rbac.SEAT_RULES, group, PLURALS[doc["kind"]], verb), (doc["kind"], verb)


def test_the_registry_role_names_the_seats_own_registry_pod_only() -> None:
    role, binding = registry.seat_access(SPEC, "ana")
    assert all(r["resourceNames"] == ["registry-ana-0"] for r in role["rules"])
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": seat.SEAT_ACCOUNT, "namespace": "room-ana"}]
    assert role["metadata"]["namespace"] == "room"


# -- quota and limits ------------------------------------------------------------------------------------------


def quantity(text: str) -> float:
    """CPU in cores, memory in bytes."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def test_the_quota_holds_everything_of_pages_3_to_9_at_once_and_no_load_balancer_or_node_port(
        rendered: list[dict[str, Any]]) -> None:
    hard = by_kind("ResourceQuota")["spec"]["hard"]
    assert hard["services.loadbalancers"] == "0" and hard["services.nodeports"] == "0"
    pods = cpu = memory = memory_limits = 0.0
    for doc in rendered:
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        replicas = 3 if doc["metadata"]["name"] == "qotm" else doc["spec"].get("replicas", 1)  # page 5: three
        pods += replicas
        for container in doc["spec"]["template"]["spec"]["containers"]:
            resources = container["resources"]
            cpu += replicas * quantity(resources["requests"]["cpu"])
            memory += replicas * quantity(resources["requests"]["memory"])
            memory_limits += replicas * quantity(resources["limits"]["memory"])
    assert pods + 2 <= int(hard["pods"])  # a rolling update's extra pod and a canary on top
    assert cpu * 1.3 <= quantity(hard["requests.cpu"])
    assert memory * 1.3 <= quantity(hard["requests.memory"])
    assert memory_limits * 1.3 <= quantity(hard["limits.memory"])
    claims = sum(quantity(t["spec"]["resources"]["requests"]["storage"])
                 for d in rendered for t in d.get("spec", {}).get("volumeClaimTemplates", []))
    assert 0 < claims <= quantity(hard["requests.storage"])


def test_every_container_forge_renders_fits_the_limit_range(rendered: list[dict[str, Any]]) -> None:
    maximum = by_kind("LimitRange")["spec"]["limits"][0]["max"]
    for doc in rendered:
        for container in (doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []):
            for resource in ("cpu", "memory"):
                assert quantity(container["resources"]["limits"].get(resource, "0")) <= quantity(maximum[resource])
    assert sizes.CLAIM_MAX["storage"] == by_kind("LimitRange")["spec"]["limits"][1]["max"]["storage"]


# -- network policies ------------------------------------------------------------------------------------------


def test_the_class_ingress_policy_isolates_every_pod_and_allows_nothing_itself() -> None:
    found = by_kind("NetworkPolicy", "class-ingress")["spec"]
    assert found == {"podSelector": {}, "policyTypes": ["Ingress"]}


def test_the_class_egress_policy_reaches_no_other_namespace_and_not_the_metadata_address() -> None:
    found = by_kind("NetworkPolicy", "class-egress")["spec"]
    assert found["podSelector"] == {} and found["policyTypes"] == ["Egress"]
    metadata = ipaddress.ip_address("169.254.169.254")
    for egress in found["egress"]:
        for peer in egress["to"]:
            if "ipBlock" in peer:
                block = ipaddress.ip_network(peer["ipBlock"]["cidr"])
                assert metadata not in block and block.num_addresses == 1, peer
                assert egress.get("ports"), "an address is reachable on named ports only"
            elif "namespaceSelector" in peer:
                selector = peer["namespaceSelector"]["matchLabels"]
                assert selector in ({"kubernetes.io/metadata.name": "kube-system"}, {seat.SHARED_LABEL: "room"})
            else:
                assert peer == {"podSelector": {}}  # its own namespace
    assert {"ipBlock": {"cidr": "172.18.0.2/32"}} in [p for e in found["egress"] for p in e["to"]]


def test_forges_network_policies_are_as_narrow_as_a_seats_must_be(rendered: list[dict[str, Any]]) -> None:
    """The admission policy's NetworkPolicy rule (no egress, only podSelector peers) admits what forge renders."""
    policies = [d for d in rendered if d["kind"] == "NetworkPolicy"]
    assert len(policies) >= 8
    for doc in policies:
        assert not doc["spec"].get("egress"), doc["metadata"]["name"]
        for rule in doc["spec"].get("ingress") or []:
            for peer in rule.get("from") or []:
                assert set(peer) == {"podSelector"}, doc["metadata"]["name"]


# -- pull secret, seat info, registry --------------------------------------------------------------------------


def test_the_pull_secret_holds_the_seats_registry_credentials_and_the_default_account_uses_it() -> None:
    secret = by_kind("Secret", seat.PULL_SECRET)
    config = yaml.safe_load(secret["stringData"][".dockerconfigjson"])
    assert config["auths"]["localhost:31000"]["username"] == "ana"
    assert by_kind("ServiceAccount", "default")["imagePullSecrets"] == [{"name": seat.PULL_SECRET}]
    assert by_kind("ServiceAccount", seat.SEAT_ACCOUNT)["automountServiceAccountToken"] is False


def test_the_seat_info_names_cluster_class_seat_end_and_registry() -> None:
    assert by_kind("ConfigMap", seat.SEAT_INFO)["data"] == {
        "class": "room", "seat": "ana", "cluster-id": "c-1", "ends": "2030-05-04T17:30:00Z",
        "registry": "localhost:31000"}


def test_the_registry_pod_runs_restricted_with_its_htpasswd_and_a_nodeport_service() -> None:
    pod = registry.statefulset(SPEC, "ana")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] and pod["automountServiceAccountToken"] is False
    container = pod["containers"][0]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["REGISTRY_AUTH"] == "htpasswd" and env["REGISTRY_AUTH_HTPASSWD_PATH"] == "/auth/htpasswd"
    assert registry.service(SPEC, "ana")["spec"]["type"] == "NodePort"


def test_htpasswd_lines_hold_the_password_and_nothing_else() -> None:
    line = registry.htpasswd("ana", "s3cret")
    assert line.startswith("ana:$2") and line.endswith("\n")
    assert registry.htpasswd_matches(line, "ana", "s3cret")
    assert not registry.htpasswd_matches(line, "ana", "wrong")
    assert not registry.htpasswd_matches(line, "bob", "s3cret")
    assert not registry.htpasswd_matches("ana:not-a-hash", "ana", "s3cret")


def test_an_external_registry_file_gives_each_seat_its_prefix(tmp_path: Path) -> None:
    path = tmp_path / "registries.yaml"
    path.write_text("seats:\n  ana: {registry: reg.example/room/ana, username: ana, password: p1}\n")
    assert registry.read_external(path) == {"ana": Registry("reg.example/room/ana", "ana", "p1")}
    assert registry.read_external(path)["ana"].host == "reg.example"


@pytest.mark.parametrize(("text", "error"), [
    ("[1, 2]", "expected a mapping `seats:`"),
    ("seats:\n  ana: {registry: r.example/a, username: ana}\n", "seats.ana.password: missing"),
    ("seats:\n  ana: {registry: 'https://r.example/a', username: a, password: p}\n", "has no scheme"),
    ("seats: [", "not YAML"),
])
def test_a_bad_registry_file_is_one_line_naming_file_and_field(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "registries.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        registry.read_external(path)
    assert str(caught.value).startswith(str(path)) and error in str(caught.value)
    assert "\n" not in str(caught.value)


# -- names -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Ana", "ana_b", "-ana", "ana-", "a" * 41, "", "ana.b"])
def test_a_seat_name_that_is_not_a_short_dns_label_is_refused(name: str) -> None:
    with pytest.raises(UsageError, match="is not a DNS label"):
        names.check_seat_name(name)


def test_numbered_seats_sort_and_a_count_below_one_is_refused() -> None:
    assert names.numbered(3) == ["seat-01", "seat-02", "seat-03"]
    assert names.numbered(120)[-1] == "seat-120" and names.numbered(120)[0] == "seat-001"
    with pytest.raises(UsageError):
        names.numbered(0)


def test_a_names_file_skips_comments_and_refuses_duplicates_and_bad_names_by_line(tmp_path: Path) -> None:
    path = tmp_path / "room.txt"
    path.write_text("# the room\nana\n\nbob  # late\n")
    assert names.read_names(path) == ["ana", "bob"]
    path.write_text("ana\nbob\nana\n")
    with pytest.raises(UsageError, match=r"room.txt:3: seat name 'ana' is a duplicate \(first on line 1\)"):
        names.read_names(path)
    path.write_text("ana\nBob\n")
    with pytest.raises(UsageError, match=r"room.txt:2: seat name 'Bob' is not a DNS label"):
        names.read_names(path)
    path.write_text("# nobody\n")
    with pytest.raises(UsageError, match="no seat names"):
        names.read_names(path)


def test_the_end_is_written_in_utc() -> None:
    local = datetime(2030, 5, 4, 19, 30, tzinfo=timezone(timedelta(hours=2)))
    assert ClassSpec("room", local, "c", "s", "").ends_text() == "2030-05-04T17:30:00Z"


# -- the README's tables ---------------------------------------------------------------------------------------


def readme_rows(heading: str) -> list[list[str]]:
    """The rows of the first table after `heading` in classroom/README.md, cells stripped of backticks."""
    text = (ROOT / "classroom" / "README.md").read_text()
    section = text.split(heading, 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("|"):
            rows.append([cell.strip().replace("`", "") for cell in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # past the header and its rule


def test_the_readme_lists_exactly_the_seat_roles_rules() -> None:
    documented = set()
    for groups, resources, verbs, _why in readme_rows("### The seat Role's rules"):
        group = "" if groups == '""' else groups
        documented |= {(group, r.strip(), v) for r in resources.split(",") for v in verbs.split()}
    granted = {(g, r, v) for rule in rbac.SEAT_RULES for g in rule["apiGroups"] for r in rule["resources"]
               for v in rule["verbs"]}
    assert documented == granted


def test_the_readme_lists_every_field_of_the_join_file() -> None:
    documented = set()
    for field, _meaning in readme_rows("## The join file"):
        documented |= {f.strip() for f in field.split(",")}
    data = joinfile.build(SPEC, "ana", "room-ana", REGISTRY, "t", SPEC.ends)
    fields = {k for k, v in data.items() if not isinstance(v, dict) or k == "kubeconfig"}
    fields |= {f"{k}.{sub}" for k, v in data.items() if isinstance(v, dict) and k != "kubeconfig" for sub in v}
    assert fields == documented
