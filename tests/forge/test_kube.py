"""forge.cluster.kube without a cluster: kubeconfig and context choice, namespace precedence, errors, resource paths."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client.exceptions import ApiException

from forge.cluster.kube import ApiError, ResourceType, connect, kind_rank, label_selector
from forge.errors import ForgeError
from tests.forge.cli import forge
from tests.forge.fake_api import write_kubeconfig
from tests.platform.procs import free_port

pytestmark = pytest.mark.unit


@pytest.fixture
def kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_kubeconfig(tmp_path / "config", f"https://127.0.0.1:{free_port()}",
                            {"kind-shop": "workshop", "other": None}, "kind-shop")
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


def test_current_context_and_its_namespace(kubeconfig: Path):
    cluster = connect()
    assert (cluster.context, cluster.namespace) == ("kind-shop", "workshop")
    assert cluster.target() == "context: kind-shop  namespace: workshop"


def test_explicit_namespace_wins_and_default_is_default(kubeconfig: Path):
    assert connect(namespace="shop").namespace == "shop"
    assert connect(context="other").namespace == "default"


def test_kubeconfig_path_list_is_merged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    first = write_kubeconfig(tmp_path / "a", "https://127.0.0.1:1", {"a": None}, "a")
    second = write_kubeconfig(tmp_path / "b", "https://127.0.0.1:2", {"b": "bee"}, None)
    monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'missing'}:{second}")
    assert connect(context="b").namespace == "bee"


def test_unknown_context_lists_the_known_ones(kubeconfig: Path):
    with pytest.raises(ForgeError) as err:
        connect(context="prod")
    assert str(err.value) == f"kubeconfig {kubeconfig}: no context named 'prod' (contexts: kind-shop, other)"


def test_missing_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nope"))
    with pytest.raises(ForgeError, match=r"^no kubeconfig: .*/nope does not exist \(set KUBECONFIG"):
        connect()


def test_no_current_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "k", "https://127.0.0.1:1", {"x": None}, None)))
    with pytest.raises(ForgeError, match=r"no current context; its contexts: x \(pass --context\)$"):
        connect()


def test_unreachable_cluster_is_one_clear_line(kubeconfig: Path):
    cluster = connect()
    with pytest.raises(ForgeError) as err:
        cluster.server_version()
    assert str(err.value) == f"cluster unreachable: context kind-shop at {cluster.server}: connection refused"


def test_api_error_keeps_the_server_message_without_its_preamble():
    body = json.dumps({
        "kind": "Status", "status": "Failure", "reason": "Invalid", "code": 422,
        "message": 'Deployment.apps "qotm" is invalid: spec.template.metadata.labels: Invalid value: '
                   '{"app":"qotm"}: `selector` does not match template `labels`',
        "details": {"causes": [{"field": "spec.template.metadata.labels"}]},
    })
    error = ApiError.from_exception(ApiException(status=422, reason="Unprocessable Entity", body=body))
    assert error.status == 422
    assert error.explain() == (
        'spec.template.metadata.labels: Invalid value: {"app":"qotm"}: `selector` does not match template `labels`'
    )
    plain = ApiError.from_exception(ApiException(status=503, reason="Service Unavailable", body="upstream down"))
    assert (str(plain), plain.explain()) == ("upstream down", "upstream down")


def test_resource_paths():
    deployments = ResourceType("apps/v1", "Deployment", "deployments", True)
    namespaces = ResourceType("v1", "Namespace", "namespaces", False)
    assert deployments.path("shop", "qotm") == "/apis/apps/v1/namespaces/shop/deployments/qotm"
    assert deployments.path("shop") == "/apis/apps/v1/namespaces/shop/deployments"
    assert namespaces.path("ignored", "shop") == "/api/v1/namespaces/shop"
    assert ResourceType("v1", "Pod", "pods", True).path("shop", "p", "log") == "/api/v1/namespaces/shop/pods/p/log"


def test_apply_order_puts_what_others_use_first():
    kinds = ["Deployment", "MyCustomThing", "Service", "ConfigMap", "Namespace", "ServiceAccount"]
    assert sorted(kinds, key=kind_rank) == [
        "Namespace", "ServiceAccount", "ConfigMap", "Service", "Deployment", "MyCustomThing"
    ]


def test_label_selector_is_sorted_and_joined():
    assert label_selector({"b": "2", "a": "1"}) == "a=1,b=2"


# ---- through the CLI: one line, exit 1, nothing attempted after the cluster check -----------------------------------


def test_deploy_to_an_unreachable_cluster(sample_workspace: Path, kubeconfig: Path):
    result = forge("deploy", "web")
    assert result.exit_code == 1
    assert result.stdout == "context: kind-shop  namespace: shop\n"  # forge.yaml's namespace beats the context's
    server = json.loads(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    assert result.stderr == f"error: cluster unreachable: context kind-shop at {server}: connection refused\n"


def test_deploy_with_a_wrong_context(sample_workspace: Path, kubeconfig: Path):
    result = forge("deploy", "web", "--context", "prod", "-n", "team")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"error: kubeconfig {kubeconfig}: no context named 'prod' (contexts: kind-shop, other)\n"


def test_dry_run_without_a_cluster_still_renders_and_validates(sample_workspace: Path, kubeconfig: Path):
    result = forge("deploy", "web", "--dry-run")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "context: kind-shop  namespace: shop"
    assert lines[1].startswith("no cluster: cluster unreachable: context kind-shop at ")
    assert lines[-1] == "dry run: 3 objects rendered and validated; no cluster to dry-run against"


@pytest.mark.parametrize("command", [["list"], ["url", "web"], ["delete", "web"], ["canary", "abort", "web"]])
def test_cluster_commands_without_a_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.chdir(tmp_path)
    result = forge(*command)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: no kubeconfig: {tmp_path / 'none'} does not exist (set KUBECONFIG or create ~/.kube/config, "
        "e.g. with kind)\n"
    )


@contextlib.contextmanager
def answering(status: int, content_type: str, body: bytes) -> Iterator[str]:
    """A web server on 127.0.0.1 answering every GET with `status` and `body`; yields its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", [200, 502])
def test_an_html_answer_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: int):
    """A web server (not an API server) at the kubeconfig's address: one line naming the problem, not the page."""
    page = b"<!DOCTYPE html>\n<html><head><title>Bad gateway</title></head>\n<body>\n<h1>nope</h1>\n</body></html>\n"
    with answering(status, "text/html", page) as url:
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "config", url, {"web": None}, "web")))
        monkeypatch.chdir(tmp_path)
        result = forge("list")
    assert result.exit_code == 1
    hint = "(an HTML page: is the kubeconfig's server address a Kubernetes API server? -v shows the page)"
    expected = (f"error: HTTP 502 Bad Gateway {hint}\n" if status == 502 else
                f"error: context web at {url}: HTTP 200 from /api/v1/namespaces/default/configmaps is not JSON "
                f"{hint}\n")
    assert result.stderr == expected


def test_refused_credentials_are_one_line_naming_the_context_and_server_not_the_network(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The API server's whole word on a token it does not accept (expired, or its ServiceAccount deleted: a
    classroom seat after `class down`) is "Unauthorized"; forge says who refused what. The real API server's 401:
    tests/classroom/test_joined_cluster.py."""
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "Unauthorized",
              "reason": "Unauthorized", "code": 401}
    with answering(401, "application/json", json.dumps(status).encode()) as url:
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "config", url, {"room": None}, "room")))
        monkeypatch.chdir(tmp_path)
        result = forge("list")
    assert result.exit_code == 1
    assert result.stderr == (f"error: context room at {url} refused the credentials (401 Unauthorized) (the "
                             "kubeconfig's token or certificate expired or was revoked: get new credentials (a "
                             "classroom seat: ask the instructor for a new join file))\n")
