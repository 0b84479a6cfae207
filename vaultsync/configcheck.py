"""Checking vaultsync.toml against the shipped config schema, with messages a TOML user reads.

The config is checked by every command that loads it, so the verdict comes from a small
evaluator of the keywords the shipped config schema uses (`_conforms`), not from a
compiled validator: a command that only reads its config must not import jsonschema_rs
(~10 ms). Only a config found bad pays for jsonschema's `best_match`, to name the key.
This is schemas.py's config half: it shares the registry's compiled schemas.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, time
from typing import Any

from vaultsync.errors import ConfigError
from vaultsync.schemas import (
    _ANNOTATIONS,
    FRONT_MATTER_PREFIX,
    _Schema,
    _shipped,
    _shorten,
    shipped_names,
)


def check_config(doc: Mapping[str, Any], *, origin: str = "vaultsync.toml") -> None:
    """Check a parsed vaultsync.toml; raise ConfigError naming the key and the reason."""
    plain = _plain(doc, origin, [])
    schema = _shipped("vaultsync-config")
    try:
        ok = _conforms(schema.document, plain, schema.document)
    except _Unsupported:
        ok = schema.is_valid(plain)
    if not ok:
        raise _config_error(schema, plain, origin)
    _check_source_names(plain.get("sources", []), origin)
    _check_schema_refs(plain.get("sources", []), origin)


def _plain(value: Any, origin: str, path: list[str | int]) -> Any:
    """tomlkit's str/int/dict subclasses as plain values, which jsonschema_rs requires."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v, origin, [*path, str(k)]) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, origin, [*path, i]) for i, v in enumerate(value)]
    if isinstance(value, date | time):
        raise ConfigError(
            f"{origin}: {_keypath(path)}: a TOML date/time is not allowed here",
            hint="put it in quotes if it is meant as text",
        )
    for kind in (bool, str, int, float):
        if isinstance(value, kind):
            return kind(value)
    return value


def _keypath(path: Iterable[str | int]) -> str:
    """["sources", 0, "naem"] -> sources[0].naem, as a TOML user reads it."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else json.dumps(part)
            out += f".{key}" if out else key
    return out


def _config_error(schema: _Schema, doc: Any, origin: str) -> ConfigError:
    error = schema.best_error(doc)
    if error is None:
        where, message = schema.explain(doc)
        return ConfigError(f"{origin}: {where or '(top level)'}: {message}")
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        extra = next(k for k in error.instance if k not in known)
        close = difflib.get_close_matches(extra, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
        return ConfigError(f"{origin}: {_keypath([*path, extra])}: unknown key", hint=hint)
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in error.instance)
        return ConfigError(f"{origin}: {_keypath([*path, missing])}: required key is missing")
    where = _keypath(path) or "(top level)"
    return ConfigError(
        f"{origin}: {where}: {_shorten(error.message)}", error.schema.get("description")
    )


def _check_source_names(sources: list[Any], origin: str) -> None:
    # Case-insensitively: on macOS "Claude" and "claude" would share one folder in the vault.
    seen: dict[str, int] = {}
    for i, source in enumerate(sources):
        name = str(source["name"])
        first = seen.setdefault(name.casefold(), i)
        if first != i:
            raise ConfigError(
                f"{origin}: sources[{i}].name: {name!r} is already used by sources[{first}]",
                hint="each source needs its own name: it is the source's folder in the vault",
            )


def _check_schema_refs(sources: list[Any], origin: str) -> None:
    """Catch `schema = "mem0"` now rather than as a failed sync: not a name, not a .json path."""
    known = ("auto", "none", *shipped_names())
    for i, source in enumerate(sources):
        rules = source.get("schema", "auto")
        pairs = [([], rules)] if isinstance(rules, str) else [([k], v) for k, v in rules.items()]
        for keys, ref in pairs:
            if ref in known or ref.removeprefix(FRONT_MATTER_PREFIX).endswith(".json"):
                continue
            close = [k for k in known if k.startswith(ref)] or difflib.get_close_matches(ref, known)
            raise ConfigError(
                f"{origin}: {_keypath(['sources', i, 'schema', *keys])}: {ref!r} is not a "
                "shipped schema, a path to a .json schema file, or markdown:<path to one>",
                hint=f"did you mean {close[0]!r}?" if close else f"shipped: {', '.join(known)}",
            )


# The config is checked by every command; a command that only reads it should not import a
# validator (jsonschema_rs alone costs ~10 ms). This verdict covers the keywords the shipped
# config schema uses; anything else falls back to jsonschema_rs. schemas_test keeps the
# three in agreement.


class _Unsupported(Exception):
    pass


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": _is_number,
    "integer": lambda v: _is_number(v) and (isinstance(v, int) or v.is_integer()),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _conforms(schema: Any, value: Any, root: Any) -> bool:
    if isinstance(schema, bool):
        return schema
    return all(_keyword(k, arg, schema, value, root) for k, arg in schema.items())


def _keyword(key: str, arg: Any, schema: Any, value: Any, root: Any) -> bool:
    if key in _ANNOTATIONS or key == "$defs":
        return True
    if key == "$ref":
        return _conforms(_local_ref(arg, root), value, root)
    if key == "not":
        return not _conforms(arg, value, root)
    if key == "type":
        return any(_TYPES[t](value) for t in ([arg] if isinstance(arg, str) else arg))
    if key == "enum":
        return any(v == value and type(v) is type(value) for v in arg)
    if key in ("properties", "additionalProperties", "required") and isinstance(value, dict):
        return _object_keyword(key, arg, schema, value, root)
    if key == "items" and isinstance(value, list):
        return all(_conforms(arg, v, root) for v in value)
    if key in ("minLength", "pattern") and isinstance(value, str):
        return len(value) >= arg if key == "minLength" else re.search(arg, value) is not None
    if key in ("minimum", "maximum") and _is_number(value):
        return bool(value >= arg if key == "minimum" else value <= arg)
    if key in _TYPED_KEYWORDS:
        return True  # a keyword for another type: it does not apply to this value
    raise _Unsupported(key)


_TYPED_KEYWORDS = frozenset(
    {"properties", "additionalProperties", "required", "items", "minLength", "pattern"}
    | {"minimum", "maximum"}
)


def _local_ref(ref: str, root: Any) -> Any:
    if not ref.startswith("#/"):
        raise _Unsupported(f"$ref {ref}")
    target = root
    for part in ref[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


def _object_keyword(key: str, arg: Any, schema: Any, value: dict[str, Any], root: Any) -> bool:
    if key == "properties":
        return all(_conforms(sub, value[k], root) for k, sub in arg.items() if k in value)
    if key == "additionalProperties":
        if "patternProperties" in schema:
            raise _Unsupported(key)
        known = schema.get("properties", {})
        return all(_conforms(arg, v, root) for k, v in value.items() if k not in known)
    return all(k in value for k in arg)  # required
