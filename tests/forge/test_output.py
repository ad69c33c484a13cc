"""The one Output: which stream each kind of line goes to, -q, --output json, error details with -v, and the stages'
notes; then the same through the CLI."""

from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

import pytest

from forge.errors import ForgeError
from forge.output import Output, forward_notes
from forge.progress import NullReporter, PlainReporter
from tests.forge.cli import forge
from tests.forge.fakes import Lines

pytestmark = pytest.mark.unit

FORGE = Path(__file__).resolve().parents[2] / "forge"


def printed(**options: bool) -> tuple[Output, Lines, Lines]:
    stdout, stderr = Lines(), Lines()
    return Output(stdout=stdout, stderr=stderr, **options), stdout, stderr


def speak(out: Output) -> None:
    out.info("context: kind  namespace: shop")
    out.warn("apps.example.com/v1 Widget is not checked offline")
    out.note("skipped auth: no canary profile")
    out.aside("left qotm deployed")
    out.result("http://127.0.0.1:8080", {"url": "http://127.0.0.1:8080"})
    out.error(ForgeError("Deployment/qotm failed", "pod qotm-1: crash", hint="see forge logs qotm"))


def test_a_command_that_changes_things_reports_on_stdout() -> None:
    out, stdout, stderr = printed()
    speak(out)
    assert stdout.lines == ["context: kind  namespace: shop", "warning: apps.example.com/v1 Widget is not checked "
                            "offline", "http://127.0.0.1:8080"]
    assert stderr.lines == ["note: skipped auth: no canary profile", "left qotm deployed",
                            "error: Deployment/qotm failed (see forge logs qotm)"]


def test_a_command_with_a_product_keeps_stdout_for_it() -> None:
    out, stdout, stderr = printed(product=True)
    speak(out)
    assert stdout.lines == ["http://127.0.0.1:8080"]
    assert stderr.lines[:2] == ["context: kind  namespace: shop",
                                "warning: apps.example.com/v1 Widget is not checked offline"]


def test_quiet_keeps_the_product_warnings_and_errors() -> None:
    out, stdout, stderr = printed(quiet=True)
    speak(out)
    with out.progress() as progress:
        assert isinstance(progress, NullReporter)
    assert stdout.lines == ["warning: apps.example.com/v1 Widget is not checked offline", "http://127.0.0.1:8080"]
    assert stderr.lines == ["error: Deployment/qotm failed (see forge logs qotm)"]


def test_json_output_is_one_document_on_stdout() -> None:
    out, stdout, stderr = printed(json_output=True)
    speak(out)
    assert [json.loads(line) for line in stdout.lines] == [{"url": "http://127.0.0.1:8080"}]
    assert "context: kind  namespace: shop" in stderr.lines


def test_verbose_adds_the_error_detail() -> None:
    out, _, stderr = printed(verbose=True)
    out.error(ForgeError("Deployment/qotm failed", "pod qotm-1: crash\n"))
    assert stderr.lines == ["error: Deployment/qotm failed", "pod qotm-1: crash"]


def test_progress_goes_where_the_report_goes() -> None:
    out, stdout, stderr = printed(product=True)
    with out.progress() as progress:
        assert isinstance(progress, PlainReporter)
        progress.finish("localhost:5001/web:1", "pushed")
    assert (stdout.lines, stderr.lines) == ([], ["localhost:5001/web:1: pushed"])


def test_the_stages_notes_reach_the_current_output_only_while_forwarded() -> None:
    out, _, stderr = printed()
    log = logging.getLogger("forge.plan")
    with forward_notes(lambda: out):
        log.warning("skipped %s: no canary profile", "auth")
    log.warning("after the command")
    assert stderr.lines == ["note: skipped auth: no canary profile"]


# ---- through the CLI ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["-q", "render"], ["render", "-q"]], ids=["before", "after"])
def test_quiet_render_prints_only_the_manifests(sample_workspace: Path,
                                                monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    canary = {"CANARY": "true"}  # db and api have no canary profile: two notes without -q
    loud = forge("render", env=canary)
    quiet = forge(*args, env=canary)
    assert loud.stderr.count("note: skipped") == 2
    assert (quiet.exit_code, quiet.stderr, quiet.stdout) == (0, "", loud.stdout)


def test_render_output_json_is_a_list_of_the_objects(sample_workspace: Path) -> None:
    result = forge("render", "web", "-o", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["apiVersion"], document["kind"]) == ("v1", "List")
    assert [(i["kind"], i["metadata"]["name"]) for i in document["items"]] == [
        ("ConfigMap", "web-conf"), ("Deployment", "web"), ("Service", "web")]


def test_render_output_writes_a_directory_named_otherwise(sample_workspace: Path,
                                                          tmp_path: Path) -> None:
    result = forge("render", "web", "-o", str(tmp_path / "json"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and result.stderr.startswith("wrote 3 objects in 2 files under ")
    assert sorted(p.name for p in (tmp_path / "json" / "web").iterdir()) == ["configmap.yaml", "deployment.yaml"]


def printing_calls(source: str) -> list[str]:
    """The calls that print past an Output: print(), click.echo/secho, sys.stdout/stderr.write."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name in ("print", "click.echo", "click.secho", "sys.stdout.write", "sys.stderr.write"):
                found.append(name)
    return found


def test_nothing_in_forge_prints_but_the_output() -> None:
    calls = {str(path.relative_to(FORGE)): printing_calls(path.read_text(encoding="utf-8"))
             for path in FORGE.rglob("*.py") if path.name != "output.py" or path.parent != FORGE}
    assert len(calls) > 70
    assert {path: found for path, found in calls.items() if found} == {}
    assert printing_calls("import click, sys\nprint(1)\nclick.echo(2)\nsys.stderr.write('3')\nclick.prompt('4')") == [
        "print", "click.echo", "sys.stderr.write"]
