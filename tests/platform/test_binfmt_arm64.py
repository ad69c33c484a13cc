"""tests/platform/binfmt_arm64.sh against a stand-in binfmt_misc directory (plain files, so no kernel answers a
registration): an entry already registered as wanted is left alone; one without the fix-binary flag is removed and
Debian's line is written to `register` with F added; a missing qemu-user-static is a one-line error."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SCRIPT = Path(__file__).resolve().parent / "binfmt_arm64.sh"
INTERPRETER = "/usr/libexec/qemu-binfmt/aarch64-binfmt-P"
# Debian's /usr/lib/binfmt.d/qemu-aarch64.conf, but for its flags (magic and mask shortened)
LINE = rf":qemu-aarch64:M::\x7f\x45\x4c\x46\x02:\xff\xff\xff\xff\xff:{INTERPRETER}:"


def script(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The script with `env`, on an amd64 machine whatever this one is (a `uname` first on PATH says x86_64)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "uname").write_text("#!/bin/sh\necho x86_64\n")
    (bin_dir / "uname").chmod(0o755)
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", **env})


def run(tmp_path: Path, flags: str, entry: str | None) -> subprocess.CompletedProcess[str]:
    """The script with a conf of Debian's line with `flags`, and a binfmt_misc directory whose qemu-aarch64 entry
    reads `entry` (None: not registered)."""
    conf, binfmt = tmp_path / "qemu-aarch64.conf", tmp_path / "binfmt_misc"
    conf.write_text(f"# from qemu-user-static\n{LINE}{flags}\n")
    binfmt.mkdir()
    (binfmt / "register").touch()
    if entry is not None:
        (binfmt / "qemu-aarch64").write_text(entry)
    return script(tmp_path, {"SHOPBOX_BINFMT_CONF": str(conf), "SHOPBOX_BINFMT_DIR": str(binfmt)})


def entry(flags: str, state: str = "enabled") -> str:
    return f"{state}\ninterpreter {INTERPRETER}\nflags: {flags}\noffset 0\nmagic 7f454c4602\nmask ffffffffff\n"


@pytest.mark.parametrize("registered_flags", ["POF", "OCPF"])
def test_an_entry_registered_as_wanted_is_left_alone(tmp_path, registered_flags):
    result = run(tmp_path, "OP", entry(registered_flags))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert (tmp_path / "binfmt_misc" / "register").read_text() == ""
    assert (tmp_path / "binfmt_misc" / "qemu-aarch64").read_text() == entry(registered_flags)


@pytest.mark.parametrize(("conf_flags", "registered", "wanted"), [
    ("OP", entry("PO"), "OPF"),  # registered without F (by systemd-binfmt, say): replaced
    ("OPF", entry("POF", "disabled"), "OPF"),  # disabled: replaced
    ("OP", None, "OPF"),  # not registered
])
def test_otherwise_debians_line_is_registered_with_the_fix_binary_flag(tmp_path, conf_flags, registered, wanted):
    result = run(tmp_path, conf_flags, registered)
    binfmt = tmp_path / "binfmt_misc"
    assert (binfmt / "register").read_text() == f"{LINE}{wanted}"
    if registered is not None:
        assert (binfmt / "qemu-aarch64").read_text() == "-1\n"  # what removes an entry
    # plain files: no kernel made the entry, which the script checks and reports
    assert result.returncode == 1
    assert result.stderr.startswith("binfmt_arm64.sh: qemu-aarch64 did not register as wanted:")


def test_without_qemu_user_static_it_names_the_missing_file(tmp_path):
    missing = tmp_path / "absent.conf"
    result = script(tmp_path, {"SHOPBOX_BINFMT_CONF": str(missing)})
    assert result.returncode == 1
    assert result.stderr == (f"binfmt_arm64.sh: {missing} is missing (install qemu-user-static: "
                             "tests/platform/install.sh)\n")
