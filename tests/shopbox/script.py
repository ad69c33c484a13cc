"""Run shopbox.sh, or one of its functions, the way the tests need it."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

from tests.shopbox.offline_image import SHOPBOX_SH


def run_script(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
               prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run `[PREFIX...] bash shopbox.sh ARGS` with extra environment variables."""
    return subprocess.run([*prefix, "bash", str(SHOPBOX_SH), *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def call(snippet: str, env: dict[str, str] | None = None, timeout: float = 60) -> str:
    """Source shopbox.sh (its main does not run), load versions.env, run SNIPPET; return stdout."""
    # $0 is not the script, so sourcing it does not run its main
    result = subprocess.run(["bash", "-c", f'source "$1"; load_versions; {snippet}', "shopbox-test", str(SHOPBOX_SH)],
                            capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    assert result.returncode == 0, f"{snippet!r} failed ({result.returncode}): {result.stderr}"
    return result.stdout


def argv(builder: str, env: dict[str, str] | None = None) -> list[str]:
    """The argv a *_command function puts in CMD, e.g. argv('registry_command')."""
    return call(f'{builder}; printf "%s\\n" "${{CMD[@]}}"', env).splitlines()


LINE = re.compile(r"^\[(?P<status> OK |WARN|FAIL|MISS|SKIP)\] (?P<name>\S+(?: \d+)?)\s+(?P<detail>.*)$")


@dataclass
class Check:
    """One line of `shopbox.sh doctor` (status OK, WARN, FAIL, MISS or SKIP) and its fix line, if any."""

    status: str
    detail: str
    fix: str = ""


def doctor(env: dict[str, str], prefix: tuple[str, ...] = ()) -> tuple[int, dict[str, Check], str]:
    """Run `shopbox.sh doctor`; return its exit code, its checks by name and its summary line."""
    result = run_script("doctor", env=env, prefix=prefix)
    checks: dict[str, Check] = {}
    last = None
    for line in result.stdout.splitlines():
        if match := LINE.match(line):
            last = checks[match["name"]] = Check(match["status"].strip(), match["detail"])
        elif line.strip().startswith("fix: ") and last is not None:
            last.fix = line.strip()[len("fix: "):]
    return result.returncode, checks, result.stdout.strip().splitlines()[-1]
