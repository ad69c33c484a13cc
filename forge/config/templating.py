"""Jinja2 as forge uses it, for service.yaml and for the k8s/ templates: undefined values are errors
(StrictUndefined), every error is one `file:line: problem` line, and `env` is the process environment, where a
variable that is not set is undefined but false, so `{{ env.PORT or 8080 }}` and `{% if env.CANARY %}` work while
`{{ env.PORT }}` alone fails naming it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
import yaml

from forge.config.workspace import display_path
from forge.errors import ForgeError


class UnsetVariable(jinja2.StrictUndefined):
    """`env.X` when X is not set: false in a test or an `or`, equal only to another unset variable, replaced by
    `| default(...)`; printed or used in any other way it fails like any undefined value, naming the variable."""

    def __bool__(self) -> bool:
        return False

    __eq__ = jinja2.Undefined.__eq__
    __ne__ = jinja2.Undefined.__ne__
    __hash__ = jinja2.Undefined.__hash__


class Environ(dict[str, str]):
    """The environment as templates see it (`env.HOME`, `env["HOME"]`); a name that is not set is an
    UnsetVariable."""

    def __getattr__(self, name: str) -> Any:  # only asked for names that are not dict attributes
        if name.startswith("__"):
            raise AttributeError(name)
        if name in self:
            return self[name]
        hint = f"env.{name} is not set (for an optional variable write {{{{ env.{name} | default(...) }}}})"
        return UnsetVariable(hint=hint, obj=self, name=name)


def _defined(value: Any) -> Any:
    """Filters get StrictUndefined as a value: make it fail as `'x' is undefined`, like any other use."""
    if isinstance(value, jinja2.Undefined):
        str(value)  # raises UndefinedError
    return value


def to_yaml(value: Any) -> str:
    return yaml.safe_dump(_defined(value), default_flow_style=False, sort_keys=False).rstrip("\n")


def to_json(value: Any) -> str:
    return json.dumps(_defined(value), sort_keys=True)


def sha256(value: Any) -> str:
    return hashlib.sha256(str(_defined(value)).encode()).hexdigest()


def environment(root: Path, **options: Any) -> jinja2.Environment:
    """Jinja2 rooted at `root` (a service directory: a template can include a file next to service.yaml), with
    forge's filters `to_yaml`, `to_json` and `sha256`."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        **options,
    )
    env.filters.update(to_yaml=to_yaml, to_json=to_json, sha256=sha256)
    return env


def render_file(jinja: jinja2.Environment, root: Path, template: Path, values: Mapping[str, Any]) -> str:
    """Render `template` (a file under `root`); any problem is a ForgeError naming the file and line."""
    name = template.relative_to(root).as_posix()
    try:
        return jinja.get_template(name).render(values)
    except jinja2.TemplateSyntaxError as err:
        where = _template_path(root, err.filename, err.name) or template
        raise ForgeError(f"{display_path(where)}:{err.lineno}: {err.message}") from err
    except jinja2.TemplateNotFound as err:
        where = _location(err, root, template)
        raise ForgeError(f"{where}: template {err.name!r} not found (include paths start at the service dir)") from err
    except Exception as err:  # undefined variables, and errors raised by filters or tests during rendering
        message = err.message if isinstance(err, jinja2.TemplateError) and err.message else str(err)
        raise ForgeError(f"{_location(err, root, template)}: {message or type(err).__name__}") from err


def _location(err: Exception, root: Path, template: Path) -> str:
    """`file:line` of the innermost template frame of a rendering error, or just the template rendered."""
    line = _template_line(err.__traceback__, root)
    return f"{display_path(line[0])}:{line[1]}" if line else display_path(template)


def _template_path(root: Path, filename: str | None, name: str | None) -> Path | None:
    if filename:
        return Path(filename)
    return root / name if name else None


def _template_line(tb: TracebackType | None, root: Path) -> tuple[Path, int] | None:
    """The innermost template frame of a rendering traceback (Jinja rewrites frames to template file:line)."""
    found = None
    root_text = str(root)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(root_text) and not filename.endswith(".py"):
            found = (Path(filename), tb.tb_lineno)
        tb = tb.tb_next
    return found
