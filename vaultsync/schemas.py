"""Schema registry and validation (JSON and JSON Lines).

Interim version: well-formedness only. The full registry (shipped schemas,
auto-detection, fast verdicts) replaces it under the validation issue.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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
    """A document parsed once: `doc` for the semantic diff, `problem` if it was rejected."""

    doc: Any
    problem: Problem | None


def is_jsonl(vault_path: str) -> bool:
    return vault_path.endswith((".jsonl", ".ndjson"))


def check(data: bytes, vault_path: str, schema: str = "auto", *, vault_root: Path | None = None) -> Checked:
    """Parse `data` and check it against `schema` ("auto", "none", a shipped name or a vault path)."""
    if schema == "none":
        return Checked(None, None)
    if is_jsonl(vault_path):
        docs = []
        for no, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                docs.append(json.loads(line))
            except ValueError as exc:
                return Checked(None, Problem("jsonl", f"line {no}", _json_reason(exc)))
        return Checked(docs, None)
    try:
        return Checked(json.loads(data), None)
    except ValueError as exc:
        return Checked(None, Problem("json", "", _json_reason(exc)))


def _json_reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not well-formed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    return f"not well-formed JSON: {exc}"  # UnicodeDecodeError: binary junk


def pick_schema(rules: str | Mapping[str, str], rel_path: str) -> str:
    """Resolve a source's `schema` setting for one file (a table maps globs to schemas)."""
    if isinstance(rules, str):
        return rules
    from vaultsync.globs import GlobSet

    for pattern, name in rules.items():
        if GlobSet([pattern]).match(rel_path):
            return name
    return "auto"


def check_config(doc: Mapping[str, Any]) -> None:
    """Validate a parsed vaultsync.toml against the shipped config schema (interim: no-op)."""
