"""Bad inputs, offline: each gets its exact one-line error and exit code, and nothing is written or changed.

Docker and cluster bad inputs (unreachable registry or cluster, wrong context, failing build, API-rejected
manifest) are in the docker/cluster engineers' test files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.forge.cli import forge
from tests.forge.conftest import DEPLOYMENT, tree_digest, write_tree

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Case:
    id: str
    message: str  # the exact last line of stderr; {out} stands for the -o directory
    files: dict[str, str] = field(default_factory=dict)  # written into the sample workspace first
    args: tuple[str, ...] = ()  # after `forge render`; -o OUT is always added
    code: int = 1
    env: dict[str, str] = field(default_factory=dict)


SECRETS = "name: web\nreplicas: 2\nport: 8080\ncontainers: [{dockerfile: Dockerfile, secrets: [%s]}]\n"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ build.name }}\n"
ALIAS_BOMB = "".join(f"{x}: &{x} [{', '.join([f'*{p}' if p else 'lol'] * 9)}]\n"
                     for p, x in zip(["", *"abcdefgh"], "abcdefghi", strict=True))

CASES = [
    Case("malformed-service-yaml", "error: web/service.yaml:2: invalid YAML: expected ',' or ']', but got "
         "'<stream end>'", {"web/service.yaml": "name: [web\n"}),
    Case("service-yaml-not-a-mapping", "error: web/service.yaml: expected a mapping at the top level, got str",
         {"web/service.yaml": "just text\n"}),
    Case("wrong-field-type", "error: web/service.yaml: profiles.canary.weight: expected a number",
         {"web/service.yaml": "profiles:\n  canary:\n    weight: ten\n"}),
    Case("container-without-dockerfile", "error: web/service.yaml: containers[0]: missing required field "
         "'dockerfile'", {"web/service.yaml": "containers:\n  - name: web\n"}),
    Case("missing-dockerfile", "error: web/service.yaml: containers[0]: Dockerfile 'Dockerfile.prod' not found",
         {"web/service.yaml": "containers: [Dockerfile.prod]\n"}),
    Case("duplicate-image-in-service", "error: api/service.yaml: containers[1]: image name 'api' is already used "
         "by containers[0]", {"api/service.yaml": "containers: [Dockerfile, {dockerfile: worker/Dockerfile, "
                              "name: api}]\n"}),
    Case("duplicate-image-across-services", "error: web/service.yaml: containers: image name 'api-worker' is also "
         "used by api/service.yaml", {"web/service.yaml": "containers: [{dockerfile: Dockerfile, "
                                      "name: api-worker}]\n"}),
    Case("undefined-variable", "error: web/k8s/deployment.yaml:6: 'dict object' has no attribute 'replicaz'",
         {"web/k8s/deployment.yaml": DEPLOYMENT.replace("service.replicas", "service.replicaz")
          % {"container": "web", "key": "Dockerfile"}}),
    Case("undefined-value-in-filter", "error: db/k8s/config.yaml:6: 'dict object' has no attribute 'size'",
         {"db/service.yaml": "{}\n"}),
    Case("undefined-image-key", "error: web/k8s/deployment.yaml:17: 'dict object' has no attribute "
         "'web/Dockerfile'", {"web/k8s/deployment.yaml": DEPLOYMENT % {"container": "web", "key": "web/Dockerfile"}}),
    Case("jinja-syntax-error", "error: db/k8s/config.yaml:3: expected token 'name', got 'end of print statement'",
         {"db/k8s/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ build.name | }}}\n"}),
    Case("missing-include", "error: db/k8s/config.yaml:6: template 'settings.j2' not found (include paths start "
         "at the service dir)", {"db/k8s/config.yaml": CONFIGMAP + 'data:\n  {% include "settings.j2" %}\n'}),
    Case("renders-invalid-yaml", "error: db/k8s/config.yaml:6: rendered to invalid YAML: mapping values are not "
         "allowed here", {"db/k8s/config.yaml": CONFIGMAP + "data:\n  size: {{ service.size }}: x\n"}),
    Case("missing-metadata-name", "error: db/k8s/config.yaml: document 1: missing metadata.name",
         {"db/k8s/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n"}),
    Case("missing-kind", "error: db/k8s/config.yaml: document 1: missing kind",
         {"db/k8s/config.yaml": "apiVersion: v1\nmetadata:\n  name: x\n"}),
    Case("schema-invalid-manifest", "error: web/k8s/deployment.yaml: Deployment/web: spec.replicas: 'three' is "
         "not of type 'integer', 'null' (Kubernetes 1.36)", args=("web", "--set", "replicas=three")),
    Case("unknown-manifest-field", "error: db/k8s/config.yaml: ConfigMap/db: dta: unknown field (Kubernetes 1.36)",
         {"db/k8s/config.yaml": CONFIGMAP + "dta:\n  a: b\n"}),
    Case("duplicate-object", "error: duplicate object ConfigMap/db in namespace shop: rendered by "
         "db/k8s/config.yaml (service db) and web/k8s/extra.yaml (service web)",
         {"web/k8s/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db\n"}),
    Case("unknown-requires", "error: api/service.yaml: requires: unknown service 'dbx'",
         {"api/service.yaml": "requires: [dbx]\n"}),
    Case("requires-cycle", "error: api/service.yaml: requires: cycle api -> db -> api",
         {"db/service.yaml": "requires: [api]\n"}),
    Case("duplicate-service-name", "error: web2/service.yaml: name: service 'web' is also defined in "
         "web/service.yaml", {"web2/service.yaml": "name: web\n"}),
    Case("bad-forge-yaml-field", "error: forge.yaml: concurrency: expected an integer",
         {"forge.yaml": "concurrency: lots\n"}),
    Case("unknown-forge-yaml-field", "error: forge.yaml: regsitry: unknown field (known fields: build_args, "
         "concurrency, image_pull_secrets, namespace, node_ports, registry)",
         {"forge.yaml": "regsitry: localhost:5001\n"}),
    Case("forge-yaml-of-2017", "error: forge.yaml: written for the 2017 Forge (docker-repo): write `registry: "
         "registry.hub.docker.com/myorg` instead (forge/README.md, \"From the 2017 Forge\")",
         {"forge.yaml": "docker-repo: registry.hub.docker.com/myorg\n"}),
    Case("malformed-forge-yaml", "error: forge.yaml:1: invalid YAML: mapping values are not allowed here",
         {"forge.yaml": "registry: a: b\n"}),
    Case("unknown-profile-from-env", "error: web/service.yaml: profile 'prod' is not defined (profiles: canary, "
         "default) (to deploy a separate copy named web-prod, pass --profile prod)", args=("web",),
         env={"FORGE_PROFILE": "prod"}),
    Case("profile-not-a-dns-label", "error: profile 'Prod' is not a DNS label (lowercase letters, digits and '-', at "
         "most 63 characters): a copy is named <service>-<profile>", args=("web", "--profile", "Prod")),
    Case("branches-not-a-mapping", "error: web/service.yaml: branches: expected a mapping",
         {"web/service.yaml": "branches: [main, release/*]\n"}),
    Case("branch-glob-matches-nothing", "error: web/service.yaml: branches.feature /*: the glob matches no branch: "
         "git branch names cannot have a space or control character",
         {"web/service.yaml": "branches:\n  feature /*: canary\n"}),
    Case("branch-profile-not-a-dns-label", "error: web/service.yaml: branches.main: 'Prod' is not a valid profile "
         "name (a DNS label: lowercase letters, digits and '-', at most 63 characters)",
         {"web/service.yaml": "branches:\n  main: Prod\n"}, env={"FORGE_BRANCH": "main"}),
    Case("branch-profile-from-template-not-a-dns-label", "error: web/service.yaml: branches.*: 'feature/x' is not a "
         "valid profile name (a DNS label: lowercase letters, digits and '-', at most 63 characters)",
         {"web/service.yaml": "branches:\n  '*': '{{ branch }}'\n"}, env={"FORGE_BRANCH": "feature/x"}),
    Case("profile-name-not-a-dns-label", "error: web/service.yaml: profiles: 'Blue' is not a valid profile name "
         "(a DNS label: lowercase letters, digits and '-', at most 63 characters)",
         {"web/service.yaml": "profiles:\n  Blue: {}\n"}),
    Case("service-yaml-undefined-variable", "error: web/service.yaml:3: 'replicas' is undefined",
         {"web/service.yaml": "name: web\nport: 8080\nreplicas: {{ replicas }}\n"}),
    Case("service-yaml-unset-env", "error: web/service.yaml:2: env.WEB_PORT is not set (for an optional variable "
         "write {{{{ env.WEB_PORT | default(...) }}}})", {"web/service.yaml": "name: web\nport: {{ env.WEB_PORT }}\n"}),
    Case("service-yaml-template-syntax", "error: web/service.yaml:2: unexpected '}}'",
         {"web/service.yaml": "name: web\nport: {{ env.PORT }\n"}),
    Case("service-yaml-rendered-badly", "error: web/service.yaml: port: expected an integer",
         {"web/service.yaml": "name: web\nport: {{ env.WEB_PORT }}\n",
          "web/service.schema.yaml": "properties: {port: {type: integer}}\n"}, env={"WEB_PORT": "eighty"}),
    Case("requires-not-a-name", "error: api/service.yaml: requires: expected a string or a list",
         {"api/service.yaml": "requires: 3\n"}),
    Case("k8s-namespace-not-a-dns-label", "error: K8S_NAMESPACE=Shop: not a DNS label (lowercase letters, digits and "
         "'-', at most 63 characters, starting and ending with a letter or digit)", env={"K8S_NAMESPACE": "Shop"}),
    Case("set-into-a-scalar", "error: --set replicas.max: replicas is not a mapping", args=("--set", "replicas.max=3")),
    Case("no-services", "error: empty: no service.yaml found", {"empty/README": "nothing here\n"}, ("empty",)),
    Case("bad-kube-version", "error: Kubernetes version 'newest' is not a version like 1.33",
         args=("--kube-version", "newest")),
    Case("two-builds-one-output-file", "error: {out}/web/configmap.yaml: both db/k8s/configmap.yaml and "
         "web/k8s/configmap.yaml would be written there (two builds named 'web')",
         {"db/service.yaml": "size: 1Gi\nprofiles: {default: {name: web}}\n",
          "db/k8s/configmap.yaml": CONFIGMAP.replace("}}", "}}-more")}),
    Case("set-without-equals", "Error: Invalid value for --set: 'replicas': expected KEY=VALUE",
         args=("--set", "replicas"), code=2),
    Case("set-invalid-yaml", "Error: Invalid value for --set: replicas=[1: value is not valid YAML (expected ',' "
         "or ']', but got '<stream end>')", args=("--set", "replicas=[1"), code=2),
    Case("canary-and-profile", "Error: --canary and --profile cannot be used together",
         args=("--canary", "--profile", "staging"), code=2),
    Case("canary-typo", "error: CANARY=ture: expected true, 1, yes or on (canary) or false, 0, no or off (not)",
         args=("web",), env={"CANARY": "ture"}),
    Case("misspelled-kind", "error: db/k8s/config.yaml: Deploymnet/db: kind Deploymnet does not exist in apps/v1 "
         "(Kubernetes 1.36; did you mean Deployment?)",
         {"db/k8s/config.yaml": "apiVersion: apps/v1\nkind: Deploymnet\nmetadata:\n  name: db\n"}),
    Case("unknown-api-group", "error: db/k8s/config.yaml: Deployment/db: apiVersion app/v1 is not served by "
         "Kubernetes 1.36 (Deployment is apps/v1)",
         {"db/k8s/config.yaml": "apiVersion: app/v1\nkind: Deployment\nmetadata:\n  name: db\n"}),
    Case("removed-api", "error: db/k8s/config.yaml: Deployment/db: apiVersion extensions/v1beta1 is not served by "
         "Kubernetes 1.36 (Deployment is apps/v1)",
         {"db/k8s/config.yaml": "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: db\n"}),
    Case("kind-list", "error: db/k8s/config.yaml: List/db: kind List is not supported: write each object as its own "
         "YAML document (separated by ---)",
         {"db/k8s/config.yaml": "apiVersion: v1\nkind: List\nmetadata:\n  name: db\nitems: []\n"}),
    Case("template-namespace-mismatch", "error: web/k8s/extra.yaml: ConfigMap/extra: metadata.namespace 'other' "
         "differs from the target namespace 'shop' (-n, else forge.yaml); remove it or write {{{{ build.namespace }}}}",
         {"web/k8s/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: other\n"}),
    Case("template-namespace-vs-n", "error: web/k8s/extra.yaml: ConfigMap/extra: metadata.namespace 'shop' differs "
         "from the target namespace 'team' (-n, else forge.yaml); remove it or write {{{{ build.namespace }}}}",
         {"web/k8s/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: shop\n"},
         ("-n", "team")),
    Case("set-unknown-key", "error: --set replicaz: no such field in web/service.yaml", args=("web", "--set",
                                                                                             "replicaz=3")),
    Case("set-unknown-key-everywhere", "error: --set profiles.canary.wieght.x: no such field in any of the 3 "
         "service.yaml files under .", args=("--set", "profiles.canary.wieght.x=3")),
    Case("canary-of-a-named-service-without-one", "error: db/service.yaml: profile 'canary' is not defined "
         "(profiles: default)", args=("db", "--canary")),
    Case("profile-nowhere-from-env", "error: .: no service here has a blue profile (for a separate copy of each "
         "service (<service>-blue), pass --profile blue)", env={"FORGE_PROFILE": "blue"}),
    Case("alias-bomb", "error: web/service.yaml: YAML aliases expand to more than 100000 values (an alias bomb?); "
         "refusing to load it", {"web/service.yaml": ALIAS_BOMB}),
    Case("recursive-alias", "error: web/service.yaml:2: a YAML alias refers to a value that contains it",
         {"web/service.yaml": "name: web\nloop: &l [1, *l]\n"}),
    Case("alias-bomb-in-template", "error: db/k8s/config.yaml: YAML aliases expand to more than 100000 values (an "
         "alias bomb?); refusing to load it", {"db/k8s/config.yaml": CONFIGMAP + ALIAS_BOMB.replace("a:", "data:", 1)}),
    Case("bad-namespace", "Error: Invalid value for '-n' / '--namespace': 'Shop' is not a DNS label (lowercase "
         "letters, digits and '-', at most 63 characters, starting and ending with a letter or digit)",
         args=("-n", "Shop"), code=2),
    Case("path-does-not-exist", "error: no/pe: no such file or directory", args=("no/pe",), code=2),
    Case("path-or-service-does-not-exist", "error: nope: no such file, directory or service in the workspace . "
         "(services: api, db, web)", args=("web", "nope"), code=2),
    Case("secret-with-two-sources", "error: web/service.yaml: containers[0].secrets[0]: give exactly one of env (an "
         "environment variable) or file", {"web/service.yaml": SECRETS % "{id: pip, env: PIP_URL, file: pip.conf}"}),
    Case("secret-without-source", "error: web/service.yaml: containers[0].secrets[0]: give exactly one of env (an "
         "environment variable) or file", {"web/service.yaml": SECRETS % "{id: pip}"}),
    Case("secret-declared-twice", "error: web/service.yaml: containers[0].secrets[1].id: secret 'pip' is declared "
         "twice", {"web/service.yaml": SECRETS % "{id: pip, env: A}, {id: pip, file: pip.conf}"}),
    Case("secret-bad-id", "error: web/service.yaml: containers[0].secrets[0].id: 'pip index' is not a valid secret id "
         "(letters, digits, '.', '_', '-')", {"web/service.yaml": SECRETS % "{id: pip index, env: A}"}),
    Case("secret-value-inline", "error: web/service.yaml: containers[0].secrets[0].value: unknown field (known "
         "fields: env, file, id)", {"web/service.yaml": SECRETS % "{id: pip, value: hunter2}"}),
]


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 15
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(sample_workspace: Path, tmp_path: Path, case: Case) -> None:
    write_tree(sample_workspace, case.files)
    before = tree_digest(sample_workspace)
    out = tmp_path / "out"
    result = forge("render", *case.args, "-o", str(out), env=case.env)
    assert result.exit_code == case.code, result.stderr
    message = case.message.format(out=out)
    assert result.stderr.splitlines()[-1] == message
    if case.code == 1:
        assert result.stderr == message + "\n"  # exactly one line
    assert result.stdout == ""
    assert not out.exists()
    assert tree_digest(sample_workspace) == before
