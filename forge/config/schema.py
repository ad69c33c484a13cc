"""Schema checks for forge's own YAML files, reported as `file: field.path: what is wrong` in plain words."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jsonschema

from forge.errors import ForgeError

_TYPE_WORDS = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "nothing",
}


def field_path(parts: Iterable[Any]) -> str:
    """`profiles.canary.weight`, `containers[1].dockerfile`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def error_path(error: jsonschema.ValidationError) -> list[Any]:
    """The field path of an error; for an unknown field, the field itself rather than its parent."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        path.append(unknown_fields(error)[0])
    return path


def unknown_fields(error: jsonschema.ValidationError) -> list[str]:
    return sorted(str(k) for k in error.instance if k not in error.schema.get("properties", {}))


def _describe(error: jsonschema.ValidationError) -> str:
    kind, value, schema = error.validator, error.instance, error.schema
    if kind == "type":
        wanted = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        words = [_TYPE_WORDS[t] for t in wanted]
        return "expected " + (f"{', '.join(words[:-1])} or {words[-1]}" if len(words) > 1 else words[0])
    if kind == "additionalProperties":
        known = ", ".join(sorted(schema.get("properties", {})))
        return f"unknown field (known fields: {known})"
    if kind == "required":
        return f"missing required field {error.message.split(' is a required')[0]}"
    if kind == "pattern":
        return f"{value!r} is not {schema.get('description', 'valid')}"
    if kind in ("minimum", "maximum"):
        return f"{'at least' if kind == 'minimum' else 'at most'} {error.validator_value} expected, got {value!r}"
    if kind == "enum":
        return f"{value!r} is not one of {', '.join(str(v) for v in error.validator_value)}"
    if kind == "minLength":
        return "must not be empty"
    if kind == "uniqueItems":
        return "has duplicate entries"
    return error.message


def _sort_key(error: jsonschema.ValidationError) -> tuple[list[str], str]:
    return [str(p) for p in error_path(error)], error.validator


def check(data: Any, schema: dict[str, Any], shown: str) -> None:
    """Raise ForgeError naming `shown` (the file) and the field path of the first problem in document order."""
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data), key=_sort_key)
    if not errors:
        return
    first = errors[0]
    where = field_path(error_path(first))
    message = f"{shown}: {where}: {_describe(first)}" if where else f"{shown}: {_describe(first)}"
    if len(errors) == 1:
        raise ForgeError(message)
    detail = "\n".join(f"{shown}: {field_path(error_path(e)) or '(top)'}: {_describe(e)}" for e in errors)
    raise ForgeError(f"{message} (and {len(errors) - 1} more problems; -v lists them)", detail=detail)
