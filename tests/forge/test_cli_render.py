"""`forge render` end to end through the installed console script, and the CLI conventions around it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.shell_completion import ShellComplete

from forge import __version__
from forge.cli import COMPLETE_VAR, main
from forge.model import LABEL_INSTANCE
from tests.forge.cli import forge
from tests.forge.conftest import write_tree

pytestmark = pytest.mark.unit



def test_render_prints_every_manifest_in_requires_order(sample_workspace: Path) -> None:
    result = forge("render", cwd=sample_workspace, process=True)
    assert result.exit_code == 0, result.stderr
    docs = list(yaml.safe_load_all(result.stdout))
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("ConfigMap", "db"), ("Deployment", "api"), ("ConfigMap", "web-conf"), ("Deployment", "web"),
        ("Service", "web"),
    ]
    assert "# Source: web/k8s/deployment.yaml\n" in result.stdout
    assert result.stderr == ""


def test_render_from_inside_a_service_with_env_canary(sample_workspace: Path) -> None:
    result = forge("render", cwd=sample_workspace / "web", env={"CANARY": "true"}, process=True)
    assert result.exit_code == 0, result.stderr
    names = {d["metadata"]["name"] for d in yaml.safe_load_all(result.stdout)}
    assert names == {"web-canary", "web-canary-conf"}
    assert "# Source: k8s/deployment.yaml\n" in result.stdout


def test_render_to_a_directory(sample_workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = forge("render", "web", "--canary", "--set", "replicas=4", "-n", "team", "-o", str(out),
                   cwd=sample_workspace, process=True)
    assert result.exit_code == 0, result.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "web-canary/configmap.yaml", "web-canary/deployment.yaml"
    ]
    deployment, service = yaml.safe_load_all((out / "web-canary" / "deployment.yaml").read_text())
    assert deployment["spec"]["replicas"] == 4
    assert service["metadata"]["labels"][LABEL_INSTANCE] == "web-canary"
    conf = (out / "web-canary" / "configmap.yaml").read_text()
    assert "conf.yaml: |\n    weight: 10\n    profile: canary\n" in conf  # config files stay readable blocks
    assert result.stdout == ""
    assert result.stderr.startswith("wrote 3 objects in 2 files under ")


def test_set_value_is_parsed_as_yaml(sample_workspace: Path) -> None:
    result = forge("render", "web", "--canary", "--set", "profiles.canary.weight=15", "--set", "replicas=5")
    assert result.exit_code == 0, result.stderr
    docs = {d["kind"]: d for d in yaml.safe_load_all(result.stdout)}
    assert docs["Deployment"]["spec"]["replicas"] == 5
    assert yaml.safe_load(docs["ConfigMap"]["data"]["conf.yaml"])["weight"] == 15  # a number: passed the schema
    word = forge("render", "web", "--set", "profiles.canary.weight=heavy")
    assert (word.exit_code, word.stdout) == (1, "")
    assert word.stderr == "error: web/service.yaml (with --set): profiles.canary.weight: expected a number\n"


def test_errors_are_one_line_with_detail_on_request(sample_workspace: Path) -> None:
    write_tree(sample_workspace, {"db/k8s/config.yaml": "a: {{ nope }}\n"})
    result = forge("render", cwd=sample_workspace, process=True)
    expected = "error: db/k8s/config.yaml:1: 'nope' is undefined\n"
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", expected)
    write_tree(sample_workspace, {"db/k8s/config.yaml": "a: b: c\n"})
    for args in (["-v", "render"], ["render", "-v"]):
        result = forge(*args)
        assert result.exit_code == 1
        first, *rest = result.stderr.splitlines()
        assert first == "error: db/k8s/config.yaml:1: rendered to invalid YAML: mapping values are not allowed here"
        assert rest == ["a: b: c"]  # the rendered text, as detail
        assert "Traceback" not in result.stderr


def test_usage_errors_exit_2(sample_workspace: Path) -> None:
    for args in (["render", "--canary", "--profile", "x"], ["render", "--set", "novalue"], ["render", "--bogus"],
                 ["render", "no/such/dir"]):
        result = forge(*args)
        assert result.exit_code == 2, args
        assert "Traceback" not in result.stderr


def test_version_and_help() -> None:
    assert forge("--version").stdout == f"forge, version {__version__}\n"
    help_text = forge("render", "--help").stdout
    assert "Examples:" in help_text and "forge render qotm --canary" in help_text
    for option in ("--canary", "--profile", "--set", "--build-arg", "--namespace", "--output", "--kube-version",
                   "--verbose"):
        assert option in help_text


def test_shell_completion(sample_workspace: Path) -> None:
    script = forge("completion", "bash", cwd=sample_workspace, process=True)
    assert script.exit_code == 0 and "_FORGE_COMPLETE=bash_complete" in script.stdout
    completion = forge(cwd=sample_workspace, env={"_FORGE_COMPLETE": "bash_complete", "COMP_WORDS": "forge ren",
                                                   "COMP_CWORD": "1"}, process=True)
    assert "plain,render" in completion.stdout.splitlines()


def test_kinds_without_schema_warn_and_kube_version_is_honoured(
    sample_workspace: Path
) -> None:
    write_tree(sample_workspace, {"db/k8s/widget.yaml": "apiVersion: example.com/v1\nkind: Widget\n"
                                  "metadata: {name: w}\nspec: {anything: goes}\n"})
    result = forge("render", "db", "--kube-version", "1.30")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ("warning: db/k8s/widget.yaml: Widget/w: no schema for example.com/v1 Widget in "
                             "Kubernetes 1.30; skipped\n")
    assert "kind: Widget" in result.stdout


def test_os_errors_are_one_line(sample_workspace: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    result = forge("render", "db", "-o", str(blocker / "out"))
    assert result.exit_code == 1
    assert result.stderr == f"error: {blocker / 'out' / 'db'}: Not a directory\n"


def test_profile_completion(sample_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(sample_workspace, {"api/service.yaml": "requires: [db]\nprofiles: {staging: {}}\n"})
    complete = ShellComplete(main, {}, "forge", COMPLETE_VAR)
    assert [c.value for c in complete.get_completions(["render", "--profile"], "")] == ["canary", "default", "staging"]
    assert [c.value for c in complete.get_completions(["render", "--profile"], "st")] == ["staging"]
    monkeypatch.chdir(sample_workspace / "web")
    assert [c.value for c in complete.get_completions(["render", "--profile"], "")] == ["canary", "default"]


def test_help_examples_work_on_the_workshop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    """Every `forge render` example of --help runs on the repository's own services (-o goes to tmp_path)."""
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    lines = [line.split("#")[0].split() for line in forge("render", "--help").stdout.splitlines()
             if line.strip().startswith("forge render")]
    assert len(lines) == 6
    for argv in lines:
        args = [str(tmp_path / "out") if a == "build/manifests" else a for a in argv[2:]]
        result = forge("render", *args)
        assert result.exit_code == 0, (argv, result.stderr)
        if "--set" in args:
            assert "  replicas: 3\n" in result.stdout
        if "json" in args:
            assert {"Deployment", "Service"} <= {i["kind"] for i in json.loads(result.stdout)["items"]}
        if "--metadata" in args:  # `auth` is a name: envoy-canary/auth
            assert [d["build"]["name"] for d in yaml.safe_load_all(result.stdout)] == ["qotm", "auth"]
    assert (tmp_path / "out" / "qotm").is_dir()


def test_canary_at_the_root_skips_services_without_a_canary_profile(sample_workspace: Path) -> None:
    """`CANARY=true forge render` at the root: web has a canary profile, db and api do not (one line each)."""
    result = forge("render", cwd=sample_workspace, env={"CANARY": "true"}, process=True)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "note: skipped db: db/service.yaml has no canary profile",
        "note: skipped api: api/service.yaml has no canary profile",
    ]
    assert {d["metadata"]["name"] for d in yaml.safe_load_all(result.stdout)} == {"web-canary", "web-canary-conf"}


def test_a_service_without_templates_says_so(sample_workspace: Path) -> None:
    write_tree(sample_workspace, {"bare/service.yaml": "{}\n"})
    result = forge("render", "bare", cwd=sample_workspace, process=True)
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "note: bare: no templates in bare/k8s/, nothing to deploy for it\n"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["canary", "status", "qotm", "--prometheus", "localhost:9090"], {},
         "error: Prometheus at localhost:9090 is unreachable: not an http:// or https:// URL"),
        (["canary", "status", "qotm", "--prometheus", "ftp://prom"], {},
         "error: Prometheus at ftp://prom is unreachable: not an http:// or https:// URL"),
        (["setup", "--registry", "localhost:5001", "--skip-cluster", "--yes"], {"DOCKER_HOST": "foo://bar"},
         "error: Docker engine at foo://bar does not answer: Invalid bind address protocol: foo://bar"),
    ],
    ids=["prometheus-no-scheme", "prometheus-ftp", "docker-host-bad-scheme"],
)
def test_errors_use_no_library_words(tmp_path: Path, args: list[str], env: dict[str, str], message: str) -> None:
    result = forge(*args, cwd=tmp_path, env=env, process=True)
    assert (result.exit_code, result.stderr) == (1, message + "\n")


def test_from_a_subdirectory_of_a_service_forge_searches_upward(sample_workspace: Path) -> None:
    """As the original Forge did: `forge render` in web/app/ means web (and web alone, even with CANARY)."""
    result = forge("render", cwd=sample_workspace / "web" / "app", process=True)
    assert result.exit_code == 0, result.stderr
    assert {d["metadata"]["name"] for d in yaml.safe_load_all(result.stdout)} == {"web", "web-conf"}
    named = forge("render", cwd=sample_workspace / "api" / "worker", env={"CANARY": "true"}, process=True)
    assert (named.exit_code, named.stderr) == (1, f"error: {sample_workspace}/api/service.yaml: profile 'canary' "
                                                   "is not defined (profiles: default)\n")
