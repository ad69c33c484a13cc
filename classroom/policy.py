"""The class's ValidatingAdmissionPolicy: what RBAC alone cannot keep a seat from doing in its own namespace.

RBAC grants by resource, not by object or content. A seat that may write NetworkPolicies could otherwise open its
pods' egress to every other seat (NetworkPolicies are additive, CONVENTIONS.md 7), and one that may write Roles,
ServiceAccounts and Secrets could change or delete the class's own. So, for requests made by a ServiceAccount of
a seat namespace (the participant's token and any pod's) in a seat namespace, the policy refuses:

- any change to an object carrying the class label (the class's NetworkPolicies, Role, quota, ...), and any
  object created with that label (reset keeps class-labelled objects);
- a NetworkPolicy with egress rules, or with an ipBlock or namespaceSelector in an ingress rule;
- a RoleBinding with a subject other than a ServiceAccount of the same namespace (a seat handing its rights to
  everyone, e.g. `system:authenticated`);
- a Service with externalIPs (CVE-2020-8554: intercepting another address's traffic);
- a Secret of type kubernetes.io/service-account-token (a token that would outlive the class's bound one).

Plain built-in objects (admissionregistration.k8s.io/v1, GA since Kubernetes 1.30): nothing is installed on the
cluster. The binding selects the class's seat namespaces by label.
"""

from __future__ import annotations

from typing import Any

from classroom.names import DOMAIN, LABEL_CLASS, LABEL_PART, PART_SEAT, class_labels

API_VERSION = "admissionregistration.k8s.io/v1"


def policy_name(klass: str) -> str:
    return f"{klass}-seats.{DOMAIN}"


def _validation(expression: str, message: str) -> dict[str, Any]:
    return {"expression": expression, "message": message, "reason": "Forbidden"}


def _when(resource: str, check: str) -> str:
    """`check` for CREATE/UPDATE of `resource`; true for everything else."""
    return f"request.resource.resource != '{resource}' || request.operation == 'DELETE' || ({check})"


def validations(klass: str) -> list[dict[str, Any]]:
    label = LABEL_CLASS
    return [
        _validation(
            f"oldObject == null || !has(oldObject.metadata.labels) || !('{label}' in oldObject.metadata.labels)",
            f"this object belongs to class {klass} (label {label}): a seat cannot change or delete it",
        ),
        _validation(
            f"object == null || !has(object.metadata.labels) || !('{label}' in object.metadata.labels)",
            f"a seat cannot create or label objects as the class's (label {label})",
        ),
        _validation(
            _when("networkpolicies", "!has(object.spec.egress) || size(object.spec.egress) == 0"),
            "a seat's NetworkPolicy may not have egress rules (the class's own policy decides where a seat's pods "
            "may connect)",
        ),
        _validation(
            _when("networkpolicies", "!has(object.spec.ingress) || object.spec.ingress.all(r, !has(r.from) || "
                  "r.from.all(p, !has(p.ipBlock) && !has(p.namespaceSelector)))"),
            "a seat's NetworkPolicy may allow ingress only from pods of its own namespace (podSelector): no ipBlock, "
            "no namespaceSelector",
        ),
        _validation(
            _when("rolebindings", "!has(object.subjects) || object.subjects.all(s, s.kind == 'ServiceAccount' && "
                  "'namespace' in s && s['namespace'] == request.namespace)"),
            "a seat's RoleBinding may name only ServiceAccounts of its own namespace",
        ),
        _validation(
            _when("services", "!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0"),
            "a seat's Service may not set externalIPs",
        ),
        _validation(
            _when("secrets", "!has(object.type) || object.type != 'kubernetes.io/service-account-token'"),
            "a seat may not create ServiceAccount token Secrets (the seat's token is a bound one, expiring with "
            "the class)",
        ),
    ]


def admission_policy(klass: str) -> dict[str, Any]:
    """The policy: every write (create, update, delete) of any resource by a seat namespace's ServiceAccount."""
    seat_accounts = f"system:serviceaccount:{klass}-"  # the users of every ServiceAccount of a seat namespace
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": policy_name(klass), "labels": class_labels(klass)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [{"apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"],
                                   "operations": ["CREATE", "UPDATE", "DELETE"]}],
            },
            "matchConditions": [
                # Namespaced requests only (a binding's namespaceSelector never skips other cluster-scoped ones).
                {"name": "namespaced", "expression": "request.namespace != ''"},
                {"name": "by-a-seat", "expression": f"request.userInfo.username.startsWith('{seat_accounts}')"},
            ],
            "validations": validations(klass),
        },
    }


def admission_binding(klass: str) -> dict[str, Any]:
    """Binds the policy to the class's seat namespaces (not the class namespace: seats cannot write there)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": policy_name(klass), "labels": class_labels(klass)},
        "spec": {
            "policyName": policy_name(klass),
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {LABEL_CLASS: klass, LABEL_PART: PART_SEAT}},
            },
        },
    }
