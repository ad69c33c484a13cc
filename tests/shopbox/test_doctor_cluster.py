"""`shopbox.sh doctor` reports a live API server: the test control plane stands in for the kind node's API
server (kind cannot run here), on the port doctor is told to check; the check runs in the real shopbox image."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.platform.fixtures import require
from tests.shopbox.conftest import start_node
from tests.shopbox.script import doctor

pytestmark = pytest.mark.cluster


def test_live_api_server_is_ok(kube_cluster, setup, python_base_image, shopbox_image):
    server = kube_cluster.kubectl("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}").stdout
    url = urlsplit(server)
    require(url.hostname == "127.0.0.1", f"a control plane on 127.0.0.1 (this one is {server})")
    start_node(setup, python_base_image)
    _, checks, _ = doctor({**setup.env, "SHOPBOX_API_PORT": str(url.port), "SHOPBOX_IMAGE": shopbox_image})
    assert checks["api-server"].status == "OK"
    assert checks["api-server"].detail == f"https://127.0.0.1:{url.port} is live (nodes: {setup.node}:running)"
