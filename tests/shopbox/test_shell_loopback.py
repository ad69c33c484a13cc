"""The shell's loopback on a network without IPv6 (Docker's default; kind's network on an engine without IPv6),
for real: the page's `kubectl port-forward ... &` then `curl --retry-connrefused localhost:PORT` must wait for
the port to open. Without ::1 on the loopback, curl's last error is "cannot assign requested address" for ::1,
which it does not retry, and the page's step fails at once (seen in every seat of a class rehearsal: step 3.6)."""

from __future__ import annotations

import subprocess

import pytest

from tests.shopbox.conftest import docker
from tests.shopbox.script import argv

pytestmark = pytest.mark.docker

# A listener that opens 2 s after the curl starts, as a port-forward does.
PROBE = ("(sleep 2; exec python3 -m http.server 8081 --bind 127.0.0.1 --directory /etc >/dev/null 2>&1) & "
         "curl -s -o /dev/null -w '%{http_code}' --retry 10 --retry-connrefused --retry-delay 1 "
         "http://localhost:8081/; echo \" exit $?\"; kill %1")


def test_curl_waits_for_a_late_port_in_the_shell_on_a_network_without_ipv6(setup, shopbox_image, tmp_path):
    docker("network", "create", setup.network)
    assert docker("network", "inspect", "--format", "{{.EnableIPv6}}", setup.network).strip() == "false"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    env = {**setup.env, "SHOPBOX_IMAGE": shopbox_image, "SHOPBOX_WORKSPACE": str(tmp_path), "PROBE": PROBE}
    command = argv(f'IMAGE={shopbox_image}; cd {tmp_path}; shell_command {kubeconfig} {setup.network} '
                   'bash -c "$PROBE"', env)
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().endswith("200 exit 0"), (done.stdout, done.stderr[-2000:])
