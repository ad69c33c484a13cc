"""Run the test tiers one after another and print each tier's summary, then a total line.

A tier that fails, or that runs no test at all, makes the whole run fail.
Usage: python -m tests.platform.tiers [TIER ...] [-- PYTEST_ARGS...]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import TIERS


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def ran(self) -> int:
        return self.passed + self.failed


def _counts(junit: Path) -> Counts:
    if not junit.exists():
        return Counts()
    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    if suite is None:
        return Counts()
    total, failures, errors, skipped = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
    return Counts(passed=total - failures - errors - skipped, failed=failures + errors, skipped=skipped)


def run(tiers: list[str], extra: list[str]) -> int:
    results: dict[str, Counts] = {}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for tier in tiers:
            print(f"\n===== tier {tier} =====", flush=True)
            junit = Path(tmp) / f"{tier}.xml"
            code = subprocess.call([sys.executable, "-m", "pytest", "-m", tier, f"--junitxml={junit}", *extra])
            results[tier] = counts = _counts(junit)
            if code != 0 or counts.ran == 0:
                ok = False
    print("\n===== summary =====")
    for tier, c in results.items():
        print(f"{tier}: {c.passed} passed, {c.failed} failed, {c.skipped} skipped")
    total = Counts(*(sum(getattr(c, f) for c in results.values()) for f in ("passed", "failed", "skipped")))
    print(f"total: {total.passed} passed, {total.failed} failed, {total.skipped} skipped")
    empty = [t for t, c in results.items() if c.ran == 0]
    if empty:
        print(f"tiers that ran no test: {', '.join(empty)}")
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    tiers = (argv[: argv.index("--")] if "--" in argv else argv) or list(TIERS)
    unknown = sorted(set(tiers) - set(TIERS))
    if unknown:
        print(f"unknown tier(s): {', '.join(unknown)}; known: {', '.join(TIERS)}", file=sys.stderr)
        return 2
    return run(tiers, extra)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
