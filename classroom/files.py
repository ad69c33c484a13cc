"""Reading the files an instructor or participant hands to the class commands (seat names, a registry file, a
join file): one-line errors naming the file, and YAML read with forge's bound on alias expansion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from classroom.errors import ClassError
from forge.config.yamlload import load_one
from forge.errors import ForgeError


def read_text(path: Path, error: type[ClassError]) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"{path}: cannot read: {getattr(err, 'strerror', None) or err}") from None


def read_yaml(path: Path, error: type[ClassError]) -> Any:
    text = read_text(path, error)
    try:
        return load_one(text, str(path))
    except yaml.YAMLError as err:
        raise error(f"{path}: not YAML: {str(err).splitlines()[0]}") from None
    except ForgeError as err:
        raise error(str(err)) from None
