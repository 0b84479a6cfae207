"""Schema registry, auto-detection and validation (JSON and JSON Lines).

Validating must cost no more than parsing, so the verdict comes from jsonschema_rs
(each schema compiled once, cached for the process). The pure-Python `jsonschema`
is used only once a document is known to be invalid: its `best_match` picks the
one error worth showing. Both are imported inside functions: a sync with nothing
to check, or a command that only reads its config, must not pay their import time.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaultsync import detect, jsonparse
from vaultsync.errors import ConfigError


@dataclass(frozen=True)
class Problem:
    """Why a document was rejected: where in it, and the schema's message."""

    schema: str
    where: str  # "line 3" (JSON Lines), a JSON pointer ("/memories/0/id"), or "" for the whole file
    message: str

    def __str__(self) -> str:
        loc = f"{self.where}: " if self.where else ""
        return f"{self.schema}: {loc}{self.message}"


@dataclass(frozen=True)
class Checked:
    """A document parsed once: `doc` for the semantic diff, `problem` if it was rejected.

    `schema` is the schema that was applied ("auto" resolved to a name); `lines` is true
    when `doc` is the list of a JSON Lines file's values, one per non-blank line.
    """

    doc: Any
    problem: Problem | None
    schema: str = ""
    lines: bool = False


# Keywords that assert nothing: a schema made only of these accepts every document,
# so `json` and `jsonl` never load a validator.
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples"})
FRONT_MATTER_PREFIX = "markdown:"  # schema = "markdown:notes.schema.json": front matter checked


def is_jsonl(vault_path: str) -> bool:
    return vault_path.endswith((".jsonl", ".ndjson"))


# --- the registry --------------------------------------------------------------------------


def schema_dir() -> Path:
    """The shipped schemas: in the wheel under vaultsync/_data, in a checkout at the repo root."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / "schemas", here.parent / "schemas"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"vaultsync's schemas are missing (looked in {here / '_data'})")


@functools.cache
def shipped_names() -> tuple[str, ...]:
    return tuple(
        sorted(p.name.removesuffix(".schema.json") for p in schema_dir().glob("*.schema.json"))
    )


def shipped() -> list[tuple[str, str]]:
    """(name, one-line description) of every shipped schema, for `vaultsync schemas`."""
    out = []
    for name in shipped_names():
        document = _shipped(name).document
        description = document.get("description", "") if isinstance(document, dict) else ""
        out.append((name, str(description)))
    return out


STREAM_MIN_BYTES = 64 << 20  # bigjson: below this the whole tree is cheap enough
EXPLAIN_SLOW_MAX = 2 << 20  # bytes: best_match takes ~1.5 s per MiB of memories


class _Schema:
    """One schema: compiled by jsonschema_rs for verdicts, by jsonschema only to explain one."""

    def __init__(self, name: str, document: dict[str, Any] | bool) -> None:
        self.name = name
        self.document = document
        self.trivial = document is True or (
            isinstance(document, dict) and document.keys() <= _ANNOTATIONS
        )
        self._fast: Any = None
        self._slow: Any = None

    def fast(self) -> Any:
        if self._fast is None:
            import jsonschema_rs

            # offline: a cron job must never fetch a `$ref` from the network.
            self._fast = jsonschema_rs.validator_for(self.document, offline=True)
        return self._fast

    def slow(self) -> Any:
        if self._slow is None:
            from jsonschema import validators

            cls = validators.validator_for(self.document, default=validators.Draft202012Validator)
            self._slow = cls(self.document)
        return self._slow

    def is_valid(self, instance: Any) -> bool:
        if self.trivial:
            return True
        try:
            return bool(self.fast().is_valid(instance))
        except ValueError:  # a Python value jsonschema_rs cannot convert; parsed JSON never is
            return bool(self.slow().is_valid(instance))

    def explain(self, instance: Any, size: int = 0) -> tuple[str, str]:
        """(JSON pointer, message) of the most relevant error in an invalid `instance`.
        A document of over EXPLAIN_SLOW_MAX bytes gets the fast validator's first error:
        best_match walks every error in pure Python (63 s for a 300 MB file)."""
        error = self.best_error(instance) if size <= EXPLAIN_SLOW_MAX else None
        if error is None:  # big, or the libraries disagree: quote the fast one's first error
            import jsonschema_rs

            try:
                self.fast().validate(instance)  # raises its first error only, never all
            except jsonschema_rs.ValidationError as fast_error:
                return _pointer(fast_error.instance_path), _shorten(fast_error.message)
            return "", "rejected by the schema"
        return _pointer(error.absolute_path), _shorten(error.message)

    def best_error(self, instance: Any) -> Any:
        from jsonschema.exceptions import best_match

        try:
            return best_match(self.slow().iter_errors(instance))
        except RecursionError:
            return None


_SHIPPED: dict[str, _Schema] = {}
_USER: dict[tuple[str, int, int], _Schema] = {}


def _shipped(name: str) -> _Schema:
    if name not in _SHIPPED:
        path = schema_dir() / f"{name}.schema.json"
        _SHIPPED[name] = _Schema(name, json.loads(path.read_bytes()))
    return _SHIPPED[name]


def _resolve(schema: str, vault_root: Path | None) -> _Schema:
    if schema in shipped_names():
        return _shipped(schema)
    return _user_schema(schema, vault_root)


def ensure_schema(schema: str, *, vault_root: Path | None = None) -> None:
    """Raise ConfigError unless `schema` is auto, none, a shipped name, a usable schema file,
    or `markdown:<schema file>` (front matter checked against that file)."""
    if schema not in ("auto", "none"):
        _resolve(schema.removeprefix(FRONT_MATTER_PREFIX), vault_root)


def _user_schema(ref: str, vault_root: Path | None) -> _Schema:
    """A schema file: relative to the vault (or the current directory), cached until it changes."""
    path = (vault_root / ref) if vault_root is not None else Path(ref)
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
        if key not in _USER:
            _USER[key] = _compile_user(ref, json.loads(path.read_bytes()))
        return _USER[key]
    except OSError as exc:
        raise ConfigError(
            f"schema {ref!r} is neither a shipped schema nor a readable file "
            f"({path}: {exc.strerror or exc})",
            hint=f"shipped schemas: auto, none, {', '.join(shipped_names())}",
        ) from None
    except ValueError as exc:
        raise ConfigError(f"schema {ref!r}: {path} is not valid JSON: {exc}") from None


def _compile_user(ref: str, document: Any) -> _Schema:
    import jsonschema_rs

    if not isinstance(document, dict | bool):
        raise ConfigError(
            f"schema {ref!r}: a JSON Schema is an object, not {type(document).__name__}"
        )
    schema = _Schema(ref, document)
    try:
        jsonschema_rs.meta.validate(document)
        schema.fast()  # compile now, so a bad $ref is reported here and not mid-sync
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
        reason = getattr(exc, "message", str(exc)).splitlines()[0]
        raise ConfigError(f"schema {ref!r}: not a usable JSON Schema: {reason}") from None
    return schema


# --- checking ------------------------------------------------------------------------------


def check(
    data: bytes,
    vault_path: str,
    schema: str = "auto",
    *,
    vault_root: Path | None = None,
    tree: bool = True,
) -> Checked:
    """Parse `data` once and check it against `schema`.

    `schema`: "auto" (the most specific shipped schema whose shape matches), "none" (no
    parsing, no check), a shipped name, or a schema file relative to `vault_root` (the
    current directory when None). A bad schema raises ConfigError; a bad document never
    raises, it comes back as `Checked.problem`. `tree=False`: a valid memory export of
    STREAM_MIN_BYTES or more may come back without its `doc` (bigjson.py).
    """
    if schema == "none":
        return Checked(None, None, "none")
    text_kind = _text_kind(schema, vault_path)
    if text_kind is not None:
        return _check_text(data, text_kind, schema, vault_root)
    named = None if schema == "auto" else _resolve(schema, vault_root)
    lines = is_jsonl(vault_path) or schema == "jsonl"
    try:
        if not (tree or lines) and len(data) > STREAM_MIN_BYTES:
            from vaultsync import bigjson  # a memory at a time; None: checked whole

            if (streamed := bigjson.check(data, named)) is not None:
                return streamed
        if lines and jsonparse.is_utf8(data):
            return _check_lines(jsonparse.parse_utf8_lines(data), named)
        text = jsonparse.decode(data)
        if lines:
            return _check_lines(jsonparse.parse_lines(text), named)
        return _check_json(text, named)
    except jsonparse.ParseError as exc:
        label = named.name if named else ("jsonl" if lines else "json")
        return Checked(None, Problem(label, exc.where, exc.message), label, lines)


# --- Markdown and text --------------------------------------------------------------------


def _text_kind(schema: str, vault_path: str) -> str | None:
    """The text schema ("markdown" or "text") a file is checked with, else None."""
    if schema in ("markdown", "text"):
        return schema
    if schema.startswith(FRONT_MATTER_PREFIX):
        return "markdown"
    if schema != "auto":
        return None
    name = vault_path.lower()
    if name.endswith((".json", ".jsonl", ".ndjson")):
        return None  # JSON: no need to import mdmemory (~2 ms of a sync's start-up)
    from vaultsync.mdmemory import MARKDOWN_SUFFIXES, TEXT_SUFFIXES

    if name.endswith(MARKDOWN_SUFFIXES):
        return "markdown"
    return "text" if name.endswith(TEXT_SUFFIXES) else None


def _check_text(data: bytes, kind: str, schema: str, vault_root: Path | None) -> Checked:
    """UTF-8 without NUL; for Markdown, front matter that parses as YAML and, with
    `markdown:<file>`, conforms to that JSON Schema. `doc` is the text itself."""
    from vaultsync import mdmemory

    text = mdmemory.decode(data)
    if isinstance(text, mdmemory.TextProblem):
        return Checked(None, Problem(kind, text.where, text.message), kind)
    found = mdmemory.front_matter(text) if kind == "markdown" else None
    if found is None:
        return Checked(text, None, kind)
    try:
        front = mdmemory.load_yaml(found[0])
    except ValueError as exc:
        return Checked(text, Problem(kind, "front matter", f"not valid YAML: {exc}"), kind)
    ref = schema.removeprefix(FRONT_MATTER_PREFIX)
    chosen = _shipped(kind) if ref in ("auto", kind) else _resolve(ref, vault_root)
    front = {} if front is None else front
    if chosen.is_valid(front):
        return Checked(text, None, kind)
    where, message = chosen.explain(front)
    return Checked(text, Problem(kind, f"front matter {where}".rstrip(), message), kind)


def _check_json(text: str, named: _Schema | None) -> Checked:
    try:
        doc = jsonparse.parse_json(text)
    except jsonparse.ExtraData as exc:
        # The MCP memory server's legacy memory.json is JSON Lines under a .json name.
        wants_graph = named is None or named.name == "mcp-knowledge-graph"
        if not (wants_graph and detect.is_graph_line(exc.first)):
            raise
        return _check_legacy_graph(text)
    chosen = named or _shipped(detect.of_document(doc))
    problem = None
    if not chosen.is_valid(doc):
        where, message = chosen.explain(doc, len(text))
        problem = Problem(chosen.name, where, message)
    return Checked(doc, problem, chosen.name)


def _check_legacy_graph(text: str) -> Checked:
    graph = _shipped("mcp-knowledge-graph")
    try:
        return _check_lines(jsonparse.parse_lines(text), graph)
    except jsonparse.ParseError as exc:
        return Checked(None, Problem(graph.name, exc.where, exc.message), graph.name, True)


def _check_lines(parsed: tuple[list[Any], list[int]], named: _Schema | None) -> Checked:
    values, numbers = parsed
    chosen = named or _shipped(detect.of_lines(values))
    bad = [] if chosen.trivial else [i for i, v in enumerate(values) if not chosen.is_valid(v)]
    problem = None
    if bad:
        where, message = chosen.explain(values[bad[0]])
        if len(bad) > 1:
            message += f" (and {len(bad) - 1} more invalid line{'s' if len(bad) > 2 else ''})"
        loc = f"line {numbers[bad[0]]}" + (f" {where}" if where else "")
        problem = Problem(chosen.name, loc, message)
    return Checked(values, problem, chosen.name, True)


# --- helpers -------------------------------------------------------------------------------


def _pointer(path: Iterable[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _shorten(message: str, limit: int = 240) -> str:
    """Keep a message readable when it quotes a huge value (an embedding, a whole record)."""
    if len(message) <= limit:
        return message
    half = limit // 2 - 2
    return f"{message[:half]} … {message[-half:]}"


@functools.cache
def _glob(pattern: str) -> Any:
    from vaultsync.globs import GlobSet

    return GlobSet([pattern])


def pick_schema(rules: str | Mapping[str, str], rel_path: str) -> str:
    """Resolve a source's `schema` setting for one file: the first matching glob wins."""
    if isinstance(rules, str):
        return rules
    for pattern, name in rules.items():
        if _glob(pattern).match(rel_path):
            return name
    return "auto"


def check_config(doc: Mapping[str, Any], *, origin: str = "vaultsync.toml") -> None:
    """Check a parsed vaultsync.toml: kept here for callers; the work is in configcheck."""
    from vaultsync import configcheck

    configcheck.check_config(doc, origin=origin)
