"""versions.env, the one place for image pins and tool versions, and its one reader in Python: forge, the slides,
shopbox-setup and the tests import it from here (shopbox.sh reads the same format in bash, with the same rule and
error). Standard library only: it imports nothing of forge.

Format: `KEY=value` lines and `#` comment lines; KEY upper-case, the value without spaces or quotes.
"""

from __future__ import annotations

import re
from pathlib import Path

FILE_NAME = "versions.env"
LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=([A-Za-z0-9_.:/@+=,%-]*)$")  # shopbox.sh's load_versions: the same pattern
REPOSITORY_FILE = Path(__file__).resolve().parents[1] / FILE_NAME  # the checkout's (installed in place)


class VersionsError(Exception):
    """A versions file that cannot be read, or a line that is not KEY=value: one line naming the file (and line)."""


def read_versions(path: Path = REPOSITORY_FILE) -> dict[str, str]:
    """KEY -> value. A line that is neither is an error naming the file and the line, as shopbox.sh's."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise VersionsError(f"{path}: cannot read: {getattr(err, 'strerror', None) or err}") from None
    values = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = LINE.match(line)
        if not match:
            raise VersionsError(f"{path}:{number}: expected KEY=value (upper-case KEY; value without spaces or "
                                f"quotes), got: {line}")
        values[match[1]] = match[2]
    return values
