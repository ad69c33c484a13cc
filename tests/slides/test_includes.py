"""The include expander (slides/includes.py) and the slide assembler (slides/deck.py) on small made-up trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from slides.deck import Assembler, DeckError, assemble, split_slides
from slides.includes import IncludeError, bash_blocks, parse_include, region, step_headings
from versions_env import read_versions

pytestmark = pytest.mark.unit

SOURCE = "a: 1\nroutes:\n  /x/: {x: 90}\nretries: 2\nend: true\n"


def test_whole_file_line_range_and_markers() -> None:
    assert region(SOURCE, parse_include("f.yaml")) == SOURCE.rstrip("\n")
    assert region(SOURCE, parse_include("f.yaml lines=2-3")) == "routes:\n  /x/: {x: 90}"
    assert region(SOURCE, parse_include('f.yaml from="routes:" to="retries:"')) == "routes:\n  /x/: {x: 90}\nretries: 2"
    assert region(SOURCE, parse_include('f.yaml from="retries:" to="retries:"')) == "retries: 2"


@pytest.mark.parametrize(("arguments", "message"), [
    ('f.yaml from="nope:" to="end:"', "marker from='nope:' not found"),
    ('f.yaml from="retries:" to="routes:"', "marker to='routes:' not found after from='retries:'"),
    ("f.yaml lines=4-9", "lines=4-9 but the file has 5 lines"),
])
def test_missing_marker_or_range_names_file(arguments: str, message: str) -> None:
    with pytest.raises(IncludeError, match=r"^f\.yaml: ") as err:
        region(SOURCE, parse_include(arguments))
    assert message in str(err.value)


@pytest.mark.parametrize("arguments", ["", "f.yaml lines=3", "f.yaml lines=5-2", "f.yaml from=x",
                                       "f.yaml lines=1-2 from=a to=b", "f.yaml colour=red", 'f.yaml from="x'])
def test_bad_directive(arguments: str) -> None:
    with pytest.raises(IncludeError):
        parse_include(arguments)


def test_step_headings_skip_code_blocks() -> None:
    page = "# 1\n### Build\n```bash\n### not a step\n$ make\n```\n### Run it\n"
    assert step_headings(page) == ["Build", "Run it"]


def test_bash_blocks_join_continuations_and_skip_output() -> None:
    page = ("```bash\n$ docker build \\\n  -t x .\nSome output\n$ docker ps\n```\n"
            "```yaml\n$ no\n```\n```bash\n$ ls\n```\n")
    assert bash_blocks(page) == [["docker build -t x .", "docker ps"], ["ls"]]


def test_split_slides_ignores_rules_inside_code() -> None:
    slides = split_slides("# A\n---\n```yaml\n---\n```\n\n---\n# C\n")
    assert slides == [(1, "# A"), (3, "```yaml\n---\n```\n"), (8, "# C")]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "versions.env").write_text("# pins\nENVOY_IMAGE=envoyproxy/envoy:v1\n")
    (tmp_path / "conf.yaml").write_text("    routes:\n      /x/: {x: 90}\n    retries: 2\n")
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "01.md").write_text("### 1.1 Build it\n```bash\n$ make\n```\n### 1.2 Run it\n")
    (tmp_path / "slides" / "diagrams").mkdir(parents=True)
    (tmp_path / "slides" / "diagrams" / "flow.dot").write_text("digraph { a -> b }\n")
    return tmp_path


def build(tree: Path, text: str):
    (tree / "slides" / "deck.md").write_text(text)
    assembler = Assembler(tree, tree / "slides" / "build", read_versions(tree / "versions.env"),
                          tree / "slides" / "diagrams")
    return assemble([tree / "slides" / "deck.md"], assembler)


def test_assembles_versions_includes_steps_links_and_timings(tree: Path) -> None:
    deck = build(tree, (
        "## One\nEnvoy {{ versions.ENVOY_IMAGE }}\n"
        '<!-- include: conf.yaml from="routes:" to="retries:" -->\n<!-- [2 min] say it -->\n---\n'
        "## Lab\n<!-- steps: exercises/01.md -->\n[page](repo:exercises/01.md)\n![](diagrams/flow.svg)\n"
        "<!-- _class: lab -->\n<!-- [0.5 min] go -->\n"))
    assert (deck.slides, deck.minutes, deck.diagrams) == (2, 2.5, {"flow"})
    assert "Envoy envoyproxy/envoy:v1" in deck.markdown
    assert "```yaml\nroutes:\n  /x/: {x: 90}\nretries: 2\n```" in deck.markdown  # dedented, otherwise verbatim
    assert "- 1.1 Build it\n- 1.2 Run it" in deck.markdown
    assert "[page](../../exercises/01.md)" in deck.markdown


def test_a_page_without_step_headings_shows_each_blocks_first_command(tree: Path) -> None:
    (tree / "exercises" / "02.md").write_text("```bash\n$ kubectl get nodes\n$ kubectl get pods\n```\n"
                                             "```console\n$ not a step\n```\n```bash\n$ kubectl delete pod x\n```\n")
    deck = build(tree, "## Lab\n<!-- steps: exercises/02.md -->\n<!-- [1 min] n -->\n")
    assert '<pre class="steps"><code>$ kubectl get nodes\n$ kubectl delete pod x</code></pre>' in deck.markdown


def test_render_cuts_from_what_forge_renders(tree: Path) -> None:
    (tree / "svc" / "k8s").mkdir(parents=True)
    (tree / "svc" / "service.yaml").write_text("name: svc\ncontainers: []\ngreeting: hello\n")
    template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ build.name }}\n"
    template += "data:\n  hi: '{{ service.greeting }}'\n"
    (tree / "svc" / "k8s" / "cm.yaml").write_text(template)
    deck = build(tree, '## Config\n<!-- render: svc from="kind: ConfigMap" to="name: svc" -->\n<!-- [1 min] n -->\n')
    assert "```yaml\nkind: ConfigMap\nmetadata:\n  name: svc\n```" in deck.markdown
    (tree / "svc" / "service.yaml").write_text("name: svc\ncontainers: []\n")  # the template needs `greeting`
    with pytest.raises(DeckError, match=r"^slide 1 \(slides/deck.md:2\): forge render svc failed: .*greeting"):
        build(tree, '## Config\n<!-- render: svc from="kind: ConfigMap" to="name: svc" -->\n<!-- [1 min] n -->\n')


def test_included_code_is_never_version_substituted(tree: Path) -> None:
    (tree / "conf.yaml").write_text("image: {{ versions.NOPE }}\n")
    deck = build(tree, "## A\n<!-- include: conf.yaml -->\n<!-- [1 min] n -->\n")
    assert "image: {{ versions.NOPE }}" in deck.markdown


@pytest.mark.parametrize(("slide", "message"), [
    ('<!-- include: conf.yaml from="gone:" to="retries:" -->', "conf.yaml: marker from='gone:' not found"),
    ("<!-- include: missing.yaml -->", "missing.yaml: no such file"),
    ("<!-- include: ../outside.yaml -->", "../outside.yaml: outside the repository"),
    ("<!-- steps: exercises/02.md -->", "exercises/02.md: no such file"),
    ("<!-- render: exercises -->", "exercises/service.yaml: no such file"),
    ("[x](repo:exercises/09.md)", "exercises/09.md: no such file"),
    ("![](diagrams/nope.svg)", "slides/diagrams/nope.dot: no such diagram source"),
    ("{{ versions.NOPE }}", "versions.env has no NOPE"),
])
def test_errors_name_slide_and_file(tree: Path, slide: str, message: str) -> None:
    with pytest.raises(DeckError) as err:
        build(tree, f"## Fine\n<!-- [1 min] ok -->\n---\n## Broken\n{slide}\n<!-- [1 min] ok -->\n")
    assert str(err.value) == f"slide 2 (slides/deck.md:5): {message}"


@pytest.mark.parametrize("notes", ["", "<!-- no timing -->", "<!-- [1 min] a -->\n<!-- [2 min] b -->"])
def test_every_slide_needs_one_timed_note(tree: Path, notes: str) -> None:
    with pytest.raises(DeckError, match=r"^slide 1 \(slides/deck.md:1\): needs one speaker note timing"):
        build(tree, f"## A\n{notes}\n")
