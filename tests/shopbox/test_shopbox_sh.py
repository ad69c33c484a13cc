"""shopbox.sh without a Docker engine: help, argument and versions.env errors, the missing/stopped Docker
errors, and the exact commands and configuration it generates for kind's local-registry recipe."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.shopbox.offline_image import ROOT, SHOPBOX_SH, versions
from tests.shopbox.script import argv, call, run_script

pytestmark = pytest.mark.unit

DOCKERFILE = ROOT / "shopbox" / "Dockerfile"


@pytest.fixture
def dead_docker(tmp_path) -> dict[str, str]:
    """Environment where the Docker CLI finds no engine (a socket path nobody listens on)."""
    return {"DOCKER_HOST": f"unix://{tmp_path}/dead.sock"}


def _one_line_error(result, *fragments: str) -> str:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("shopbox: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


# --- help and arguments ----------------------------------------------------------------------------------


def test_help_lists_every_command_and_option():
    result = run_script("--help")
    assert result.returncode == 0
    for word in ("doctor", "build", "down", "prefetch", "load BUNDLE", "--no-cluster", "SHOPBOX_DRY_RUN",
                 "join FILE", "join FILE doctor", "join FILE run -- CMD", "class CMD"):
        assert word in result.stdout
    assert run_script("-h").stdout == result.stdout


@pytest.mark.parametrize(("args", "fragment"), [
    (["--bogus"], "unknown option --bogus"),
    (["doctor", "down"], "only one command at a time"),
    (["doctor", "extra"], "unexpected argument 'extra'"),
    (["load", "a.tar", "b.tar"], "unexpected argument 'b.tar'"),
    (["load"], "load needs the bundle file"),
    (["--no-cluster", "down"], "--no-cluster only applies"),
    (["join"], "join needs the seat's join file: ./shopbox.sh join FILE"),
    (["join", "/nonexistent/ana.yaml"], "/nonexistent/ana.yaml: no such file (the join file your instructor gave"),
    (["join", str(SHOPBOX_SH), "frob"], "unexpected argument 'frob' after the join file"),
    (["join", str(SHOPBOX_SH), "run"], "run needs the command after --: ./shopbox.sh join FILE run -- COMMAND"),
    (["join", str(SHOPBOX_SH), "doctor", "x"], "unexpected argument 'x' after doctor"),
    (["--no-cluster", "join", str(SHOPBOX_SH)], "join takes no other command or option before it"),
    (["doctor", "join", str(SHOPBOX_SH)], "join takes no other command or option before it"),
    (["--no-cluster", "class", "status"], "class takes no other command or option before it"),
    (["doctor", "class", "status"], "class takes no other command or option before it"),
])
def test_argument_errors(args, fragment):
    _one_line_error(run_script(*args), fragment)


def test_class_runs_shopbox_class_in_the_image_with_the_users_kubeconfig_in_this_directory(tmp_path):
    command = argv("IMAGE=shopbox:test; class_command /home/me/.kube/config up 3 --until 17:30")
    assert command[-7:] == ["--entrypoint", "shopbox-class", "shopbox:test", "up", "3", "--until", "17:30"]
    assert command[command.index("-w") + 1] == os.getcwd()
    assert f"{os.getcwd()}:{os.getcwd()}" in command  # names files read, join files written here
    assert "/home/me/.kube/config:/run/shopbox/kubeconfig:ro" in command
    assert command[command.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"  # join files are the instructor's
    assert "SHOPBOX_VERSIONS_FILE=/run/shopbox/versions.env" in command  # the registries' image pin


def test_class_portal_publishes_its_port_only_where_the_container_has_a_network_of_its_own():
    on_linux = argv("IMAGE=s:t; user_network() { echo host; }; class_command /k portal --port 8123")
    assert "-p" not in on_linux and on_linux[on_linux.index("--network") + 1] == "host"
    desktop = argv("IMAGE=s:t; user_network() { echo bridge; }; class_command /k --class room portal --port=8123")
    assert desktop[desktop.index("-p") + 1] == "8123:8123"
    default = argv("IMAGE=s:t; user_network() { echo bridge; }; class_command /k portal")
    assert default[default.index("-p") + 1] == "8000:8000"
    assert "-p" not in argv("IMAGE=s:t; user_network() { echo bridge; }; class_command /k status")


def test_class_rehearse_gets_the_docker_socket_and_host_paths_for_its_joined_shells(tmp_path):
    command = argv(f"IMAGE=s:t; CACHE={tmp_path}/cache; VERSIONS_FILE={tmp_path}/v.env; "
                   "class_command /k rehearse --seats 3")
    assert "/var/run/docker.sock:/var/run/docker.sock" in command
    assert f"{tmp_path}/cache:{tmp_path}/cache" in command and f"SHOPBOX_CACHE={tmp_path}/cache" in command
    assert f"{tmp_path}/v.env:{tmp_path}/v.env:ro" in command
    assert f"SHOPBOX_REHEARSE_VERSIONS_FILE={tmp_path}/v.env" in command and "SHOPBOX_IMAGE=s:t" in command
    assert "/var/run/docker.sock:/var/run/docker.sock" not in argv("IMAGE=s:t; class_command /k status")


def test_class_without_a_kubeconfig_names_it(tmp_path):
    _one_line_error(run_script("class", "status", env={"KUBECONFIG": str(tmp_path / "none")}),
                    f"class: no kubeconfig at {tmp_path}/none")


def test_load_of_a_missing_bundle_names_the_file(tmp_path):
    _one_line_error(run_script("load", str(tmp_path / "nope.tar")), f"{tmp_path}/nope.tar not found", "prefetch")


# --- versions.env ----------------------------------------------------------------------------------------


def _versions_copy(tmp_path: Path, edit) -> dict[str, str]:
    text = edit((ROOT / "versions.env").read_text())
    path = tmp_path / "versions.env"
    path.write_text(text)
    return {"SHOPBOX_VERSIONS_FILE": str(path)}


def test_versions_env_bad_line_names_file_and_line(tmp_path):
    env = _versions_copy(tmp_path, lambda t: t + "kubectl version = 1.2\n")
    line = len((tmp_path / "versions.env").read_text().splitlines())
    _one_line_error(run_script("build", env=env), f"{tmp_path}/versions.env:{line}:", "expected KEY=value")


def test_versions_env_missing_key_is_named(tmp_path):
    env = _versions_copy(tmp_path, lambda t: re.sub(r"(?m)^REGISTRY_IMAGE=.*\n", "", t))
    _one_line_error(run_script("build", env=env), "REGISTRY_IMAGE is missing")


def test_versions_env_cannot_override_the_scripts_variables(tmp_path):
    env = _versions_copy(tmp_path, lambda t: t + "PATH=/nowhere\n")
    _one_line_error(run_script("build", env=env), "PATH is reserved")


def test_sourced_versions_equal_the_file():
    """shopbox.sh reads versions.env into variables with exactly the file's values."""
    for key, value in versions().items():
        assert call(f'printf "%s" "${key}"') == value


# --- Docker missing or stopped ---------------------------------------------------------------------------


def test_no_docker_on_path(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in ("/usr/local/bin", "/usr/bin", "/bin"):
        for entry in Path(directory).iterdir():
            if not entry.name.startswith("docker") and not (bin_dir / entry.name).exists():
                (bin_dir / entry.name).symlink_to(entry)
    result = run_script("build", env={"PATH": str(bin_dir)})
    _one_line_error(result, "Docker is not installed", "https://docs.docker.com/get-docker/")


def test_docker_not_running(dead_docker):
    error = _one_line_error(run_script("build", env=dead_docker), "Docker is not running")
    assert dead_docker["DOCKER_HOST"] in error and "systemctl start docker" in error


def test_unreachable_tcp_docker_host():
    env = {"DOCKER_HOST": "tcp://127.0.0.1:1"}  # nothing listens: reported as not running, before anything else
    _one_line_error(run_script("down", env=env), "Docker is not running", "tcp://127.0.0.1:1")


# --- a privileged container ------------------------------------------------------------------------------


def fake_docker(tmp_path: Path, privileged_error: str = "") -> dict[str, str]:
    """PATH with a `docker` that reports an amd64 engine and, when privileged_error is set, refuses privileged
    containers with that error (as Docker does: on stderr, exit 125)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "docker"
    script.write_text(f"""#!/usr/bin/env bash
case "$*" in
  "info --format {{{{.Architecture}}}}") echo x86_64 ;;
  version*) echo 20.10.24 ;;
  "image inspect"*) exit 0 ;;
  *--privileged*) if [ -n "{privileged_error}" ]; then echo "docker: {privileged_error}" >&2; echo >&2;
      echo "Run 'docker run --help' for more information" >&2; exit 125; fi ;;
  *) echo "fake docker: unexpected: $*" >&2; exit 99 ;;
esac
""")
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "DOCKER_HOST": f"unix://{tmp_path}/docker.sock"}


def test_an_engine_that_refuses_privileged_containers_stops_before_building(tmp_path):
    error = ("Error response from daemon: failed to create shim: OCI runtime create failed: runc create failed: "
             "unable to start container process: unable to apply caps: operation not permitted: unknown.")
    env = {**fake_docker(tmp_path, error), "SHOPBOX_CACHE": str(tmp_path / "cache")}
    result = run_script("run", "--", "true", env=env)
    line = _one_line_error(result, "cannot start a privileged container", "unable to apply caps",
                           "kind runs its nodes as privileged containers")
    assert "unexpected" not in result.stderr  # nothing was built or started: the fake docker knows no more
    assert line.count("docker run --help") == 0
    assert call("privileged_problem", env).strip() == f"docker: {error}"


def test_run_needs_a_command_after_two_dashes():
    for args in (("run",), ("run", "true"), ("run", "--")):
        _one_line_error(run_script(*args), "run needs the command after --")


# --- generated commands ----------------------------------------------------------------------------------


def test_shell_command_mounts_the_workspace_at_the_same_path(tmp_path):
    workspace = tmp_path / "ws"
    (workspace / "qotm").mkdir(parents=True)
    env = {"SHOPBOX_WORKSPACE": str(workspace)}
    command = argv(f'IMAGE=shopbox:x; cd {workspace}/qotm; shell_command /k/config kind', env)
    assert command == [
        "docker", "run", "--rm", "-i", "--hostname", "shopbox", "--network", "kind",
        "--sysctl", "net.ipv6.conf.lo.disable_ipv6=0",
        "-v", f"{workspace}:{workspace}", "-w", f"{workspace}/qotm",
        "-v", "/var/run/docker.sock:/var/run/docker.sock",
        "-v", "/k/config:/run/shopbox/kubeconfig:ro",
        "-e", f"SHOPBOX_UID={os.getuid()}", "-e", "SHOPBOX_REGISTRY=localhost:5001",
        "-e", "SHOPBOX_EDGE_PORT=8080", "-e", "SHOPBOX_PROMETHEUS_PORT=9090",
        "-e", "SHOPBOX_REGISTRY_FORWARD=5001:shopbox-registry:5000", "shopbox:x",
    ]
    outside = argv(f'IMAGE=shopbox:x; cd {tmp_path}; shell_command /k/config host', env)
    assert outside[outside.index("-w") + 1] == str(workspace)  # started elsewhere: the shell opens the workspace
    assert not any(arg.startswith("SHOPBOX_REGISTRY_FORWARD") for arg in outside)  # not on the kind network


# --- join: a classroom seat ------------------------------------------------------------------------------

SEAT = ('SEAT_CLASS=room; SEAT_NAME=ana; SEAT_NAMESPACE=room-ana; SEAT_REGISTRY=localhost:31000; '
        'SEAT_REGISTRY_PORT=31000; SEAT_EDGE_LISTEN=30080; SEAT_PROMETHEUS_LISTEN=30090; '
        'SEAT_EXPIRES=2030-05-04T17:00:00Z; '
        'SEAT_SERVICE_URLS=room-ana/envoy=http://localhost:30080,room-ana/prometheus=http://localhost:30090; '
        'IMAGE=shopbox:x; ')


def test_join_check_runs_shopbox_join_as_this_user_with_the_file_where_it_is_so_errors_name_it(tmp_path):
    (tmp_path / "class").mkdir()
    command = argv(f"cd {tmp_path}; IMAGE=shopbox:x; join_command class/ana.yaml check",
                   {"SHOPBOX_KIND_NETWORK": "no-such-network-here"})
    assert command[:3] == ["docker", "run", "--rm"]
    assert command[command.index("--entrypoint") + 1:] == ["shopbox-join", "shopbox:x", "check", "class/ana.yaml"]
    assert command[command.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"  # reads the user's mode-600 file
    assert f"{tmp_path}/class/ana.yaml:{tmp_path}/class/ana.yaml:ro" in command
    assert command[command.index("-w") + 1] == str(tmp_path)
    assert command[command.index("--network") + 1] == "bridge"  # no kind network yet: Docker's default


def test_join_check_reads_the_seat_settings_and_refuses_anything_else(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text("#!/usr/bin/env bash\ncase \"$1\" in network) exit 1 ;; esac\n"
                                    "printf '%s\\n' SEAT_NAME=ana SEAT_NAMESPACE=room-ana "
                                    "SEAT_REGISTRY=localhost:31000 SEAT_REGISTRY_PORT=31000 "
                                    "\"${EXTRA:-SEAT_CLASS=room}\"\n")
    (bin_dir / "docker").chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    found = call(f"IMAGE=shopbox:x; join_check {SHOPBOX_SH}; echo $SEAT_NAME $SEAT_CLASS $SEAT_REGISTRY_PORT", env)
    assert found.strip() == "ana room 31000"
    result = subprocess.run(["bash", "-c", f'source "$1"; load_versions; IMAGE=x; join_check {SHOPBOX_SH}', "t",
                             str(SHOPBOX_SH)], capture_output=True, text=True,
                            env={**os.environ, **env, "EXTRA": "PATH=/evil"})
    assert result.returncode == 1
    assert result.stderr == "shopbox: error: shopbox-join check: unexpected output: PATH=/evil\n"


def test_the_forwarder_publishes_the_seat_ports_on_loopback_only_on_the_kind_network(tmp_path):
    join = tmp_path / "ana.yaml"
    command = argv(f"{SEAT} forwarder_command {join} abc123")
    assert command[:5] == ["docker", "run", "-d", "--name", "shopbox-seat-room-ana"]
    assert command[5:7] == ["--label", "io.shopbox.seat=room/ana"]
    assert "io.shopbox.seat.config=abc123" in command
    assert command[command.index("--network") + 1] == "kind"
    # the seat's shells share this network namespace: ::1 on its loopback (shopbox.sh: LOOPBACK_IPV6)
    assert command[command.index("--sysctl") + 1] == "net.ipv6.conf.lo.disable_ipv6=0"
    published = [command[i + 1] for i, arg in enumerate(command) if arg == "-p"]
    assert published == ["127.0.0.1:8080:30080", "127.0.0.1:9090:30090", "127.0.0.1:31000:31000"]
    assert f"{join}:/run/shopbox/join.yaml:ro" in command
    assert "SHOPBOX_REGISTRY_FORWARD=5001:shopbox-registry:5000" in command  # pages 1-2's localhost:5001
    assert command[-3:] == ["shopbox:x", "shopbox-join", "forward"]
    external = argv(f"{SEAT} SEAT_REGISTRY_PORT=; forwarder_command {join} abc123",
                    {"SHOPBOX_EDGE_PORT": "18080", "SHOPBOX_PROMETHEUS_PORT": "19090"})
    assert [external[i + 1] for i, arg in enumerate(external) if arg == "-p"] == ["127.0.0.1:18080:30080",
                                                                                   "127.0.0.1:19090:30090"]


def test_a_joined_shell_lives_in_the_forwarders_network_with_the_seat_names(tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    command = argv(f"{SEAT} cd {workspace}; seat_shell_command {tmp_path}/ana.yaml lab status",
                   {"SHOPBOX_WORKSPACE": str(workspace), "SHOPBOX_EDGE_PORT": "18080"})
    assert command[:6] == ["docker", "run", "--rm", "-i", "--network", "container:shopbox-seat-room-ana"]
    assert "--hostname" not in command  # Docker refuses it with another container's network
    assert f"{workspace}:{workspace}" in command and "/var/run/docker.sock:/var/run/docker.sock" in command
    assert f"{tmp_path}/ana.yaml:/run/shopbox/join.yaml:ro" in command
    env = {arg.split("=", 1)[0]: arg.split("=", 1)[1] for arg in command if "=" in arg and not arg.startswith("/")}
    assert env["REGISTRY"] == "localhost:31000" and env["SHOPBOX_SEAT"] == "ana"
    assert env["SHOPBOX_EDGE_PORT"] == "18080"  # the shell's SHOPBOX_EDGE_URL follows the host port
    assert env["FORGE_SERVICE_URLS"] == "room-ana/envoy=http://localhost:30080,room-ana/prometheus=http://localhost:30090"
    assert not any(arg.startswith(("SHOPBOX_REGISTRY_FORWARD", "SHOPBOX_REGISTRY=")) for arg in command)
    assert command[-3:] == ["shopbox:x", "lab", "status"]


# --- the image build -------------------------------------------------------------------------------------


def _dockerfile_args() -> dict[str, str | None]:
    args: dict[str, str | None] = {}
    for line in DOCKERFILE.read_text().splitlines():
        if match := re.match(r"ARG (\w+)(?:=(.*))?$", line):
            args[match[1]] = match[2]
    return args


def test_dockerfile_base_default_is_the_pinned_debian():
    assert _dockerfile_args()["BASE_IMAGE"] == versions()["DEBIAN_BASE_IMAGE"]
    assert "FROM ${BASE_IMAGE}" in DOCKERFILE.read_text()


def test_every_dockerfile_arg_comes_from_versions_env():
    """Versions are pinned in versions.env only: the Dockerfile declares them without defaults."""
    pinned = versions()
    for name, default in _dockerfile_args().items():
        if name in ("BASE_IMAGE", "TOOLS_FROM", "TOOLS_MIRROR"):
            continue
        assert name in pinned, f"Dockerfile ARG {name} has no versions.env key"
        assert default is None, f"Dockerfile ARG {name} repeats a default; versions.env is the one place"


def _build_args(env: dict[str, str] | None = None) -> dict[str, str]:
    lines = call("build_args", env).splitlines()
    assert lines[0::2] == ["--build-arg"] * (len(lines) // 2)
    return dict(line.split("=", 1) for line in lines[1::2])


def test_build_args_default_to_the_pinned_downloads():
    args = _build_args()
    pinned = versions()
    assert args["BASE_IMAGE"] == pinned["DEBIAN_BASE_IMAGE"]
    assert args["TOOLS_FROM"] == "download" and args["TOOLS_MIRROR"] == ""
    assert set(args) == set(_dockerfile_args())
    for name, value in args.items():
        if name not in ("BASE_IMAGE", "TOOLS_FROM", "TOOLS_MIRROR"):
            assert value == pinned[name]
    assert _build_args({"SHOPBOX_TOOLS_MIRROR": "http://mirror:8080"})["TOOLS_MIRROR"] == "http://mirror:8080"


def test_build_args_for_an_offline_build_verify_the_local_files(tmp_path):
    for name in ("kubectl", "kind", "docker", "compose", "buildx"):
        (tmp_path / name).write_bytes(f"fake {name} binary".encode())
    args = _build_args({"SHOPBOX_TOOLS_DIR": str(tmp_path), "SHOPBOX_BASE_IMAGE": "local/base:1"})
    assert args["TOOLS_FROM"] == "local" and args["BASE_IMAGE"] == "local/base:1"
    for key, name in (("KUBECTL", "kubectl"), ("KIND", "kind"), ("DOCKER_CLI", "docker"), ("COMPOSE", "compose"),
                      ("BUILDX", "buildx")):
        assert args[f"{key}_SHA256_AMD64"] == hashlib.sha256(f"fake {name} binary".encode()).hexdigest()
        assert args[f"{key}_SHA256_ARM64"] == versions()[f"{key}_SHA256_ARM64"]


def test_build_command_uses_the_legacy_builder_without_buildx():
    buildx = subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode == 0
    command = argv("build_command shopbox:abc /ctx")
    assert command[:2] == ["env", f"DOCKER_BUILDKIT={int(buildx)}"]
    assert command[2:10] == ["docker", "build", "--platform", "linux/amd64", "--tag", "shopbox:abc",
                             "--file", "/ctx/shopbox/Dockerfile"]
    assert command[-1] == "/ctx"
    assert f"BASE_IMAGE={versions()['DEBIAN_BASE_IMAGE']}" in command


def test_image_tag_follows_the_inputs(tmp_path):
    tag = call("image_ref").strip()
    assert re.fullmatch(r"shopbox:[0-9a-f]{16}", tag)
    assert call("image_ref").strip() == tag
    changed = _versions_copy(tmp_path, lambda t: t.replace("KIND_VERSION=", "KIND_VERSION=9"))
    assert call("image_ref", changed).strip() != tag
    unrelated = _versions_copy(tmp_path, lambda t: t + "SOME_OTHER_IMAGE=example/other:1\n")
    assert call("image_ref", unrelated).strip() == tag  # a pin the image does not use
    assert call("image_ref", {"SHOPBOX_BASE_IMAGE": "other:1"}).strip() != tag
    assert call("image_ref", {"SHOPBOX_IMAGE": "mine:1"}).strip() == "mine:1"


def test_staged_context_holds_only_the_image_inputs(tmp_path):
    context = tmp_path / "ctx"
    call(f"stage_context {context}")
    staged = sorted(str(p.relative_to(context)) for p in context.rglob("*") if p.is_file())
    assert "shopbox/Dockerfile" in staged and "pyproject.toml" in staged
    assert "forge/__init__.py" in staged and "forge/README.md" in staged  # pyproject's readme
    assert not [p for p in staged if "__pycache__" in p or p.startswith((".venv", "tests", "qotm"))]
    assert (context / "shopbox/local/tools").is_dir() and (context / "shopbox/local/wheels").is_dir()


# --- the set-up container and versions -------------------------------------------------------------------


def test_setup_command_drives_the_host_docker_with_this_scripts_settings(tmp_path):
    """shopbox-setup runs in the image with the host's socket and versions file and every SHOPBOX_* name/port;
    no stdin (`./shopbox.sh run -- CMD` keeps its own for CMD)."""
    versions_file = tmp_path / "versions.env"
    versions_file.write_text((ROOT / "versions.env").read_text())
    env = {"DOCKER_HOST": "unix:///run/user/1000/docker.sock", "SHOPBOX_KIND_NETWORK": "kind-test",
           "SHOPBOX_VERSIONS_FILE": str(versions_file), "SHOPBOX_API_PORT": "7443"}
    assert argv("IMAGE=shopbox:x; setup_command prefetch shopbox:x", env) == [
        "docker", "run", "--rm", "-v", "/run/user/1000/docker.sock:/var/run/docker.sock",
        "-v", f"{versions_file}:/run/shopbox/versions.env:ro", "-e", "SHOPBOX_VERSIONS_FILE=/run/shopbox/versions.env",
        "-e", "SHOPBOX_CLUSTER=shopbox", "-e", "SHOPBOX_REGISTRY_NAME=shopbox-registry",
        "-e", "SHOPBOX_KIND_NETWORK=kind-test", "-e", "SHOPBOX_REGISTRY_PORT=5001", "-e", "SHOPBOX_API_PORT=7443",
        "-e", "SHOPBOX_EDGE_PORT=8080", "-e", "SHOPBOX_PROMETHEUS_PORT=9090", "shopbox:x",
        "shopbox-setup", "prefetch", "shopbox:x",
    ]


def test_kubernetes_versions_agree():
    """kubectl, the kind node image and (when pinned) forge's KUBERNETES_VERSION are one Kubernetes version."""
    pinned = versions()
    node_version = re.match(r"kindest/node:v(\d+\.\d+\.\d+)@sha256:[0-9a-f]{64}$", pinned["KIND_NODE_IMAGE"])
    assert node_version, "KIND_NODE_IMAGE must be kindest/node:vX.Y.Z@sha256:<digest> (kind requires the digest)"
    assert pinned["KUBECTL_VERSION"] == node_version[1]
    assert pinned.get("KUBERNETES_VERSION", node_version[1]) == node_version[1]


def test_wrong_architecture():
    """The engine's architecture comes from `docker info`; stand in for an s390x engine's answer."""
    engine = 'docker() { if [[ $1 == info ]]; then echo s390x; else return 0; fi; }'
    snippet = f'source "$1"; {engine}; load_versions; require_docker'
    result = subprocess.run(["bash", "-c", snippet, "t", str(SHOPBOX_SH)], capture_output=True, text=True, timeout=30)
    _one_line_error(result, "wrong architecture: the Docker engine runs on s390x", "amd64 and arm64 only")


@pytest.mark.parametrize(("network", "sysctl"), [("kind", True), ("bridge", True), ("host", False)])
def test_a_shell_on_its_own_network_keeps_ipv6_on_its_loopback(tmp_path, network, sysctl):
    """::1 on the loopback (tests/shopbox/test_shell_loopback.py shows why); the host's network is the host's."""
    command = argv(f"IMAGE=shopbox:x; cd {tmp_path}; shell_command {tmp_path}/kubeconfig {network} true",
                   {"SHOPBOX_WORKSPACE": str(tmp_path)})
    assert ("net.ipv6.conf.lo.disable_ipv6=0" in command) is sysctl
