"""The sidecar config as rendered, loaded by the real Envoy (dataplane): DNS or EDS discovery, traced or not; no
warnings."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.mesh.rendered import usersvc_objects
from tests.services.rendered import config_file
from tests.services.stack import binary

pytestmark = pytest.mark.dataplane


VARIANTS = {"dns": {}, "eds": {"discovery": "eds"}, "traced": {"tracing.enabled": "true"}}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_envoy_accepts_the_sidecar_config_without_warnings(variant: str, tmp_path: Path) -> None:
    path = tmp_path / "sidecar.yaml"
    path.write_text(config_file(usersvc_objects(tmp_path / "out", VARIANTS[variant]), "usersvc-sidecar",
                                "envoy.yaml"))
    result = subprocess.run([binary("envoy"), "--mode", "validate", "-c", str(path)], capture_output=True, text=True,
                            timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and f"configuration '{path}' OK" in output, output
    assert "deprecated" not in output.lower() and "][warning][" not in output and "][error][" not in output, output
