"""Memories and their identity in each format, and `restore --merge` built on it.

Identity (semdiff uses it too, so a diff and a merge agree): records by `id` (mem0 items,
export memories, a one-memory file), MCP entities by name and relations by (from, to,
relationType), export relationships by (source_id, target_id, rel_type).

`--merge` brings back what was lost since WHEN and keeps what was learned since: a memory
only at WHEN is restored (after the current ones); one only now is kept in place; one in
both but different is a conflict: "keep" keeps the current version, "theirs" takes WHEN's.
MCP observations are a set and always united (the current ones in their order, then
WHEN's missing ones), whatever the rule: it decides only an entity's other fields
(entityType, a fork's tags...), so even "theirs" never drops an observation learned since.
"""

from __future__ import annotations

import codecs
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vaultsync.errors import UsageError
from vaultsync.memories import (
    GRAPH_SCHEMA,
    KEYS,
    graph_document,
    hashable,
    index_by,
    is_single,
    label,
    mergeable,
    observations,
    parts,
    shorten,
    without_observations,
)

CONFLICT_RULES = ("keep", "theirs")
_DEFAULT_INDENT = "  "
_FLAT = (int, float, bool)  # JSON scalars whose encoding never holds ", "
_WHOLE_FILE = "restore the whole file (without --merge), or restore it aside with --to DIR"


# --- merging -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """What a merge did to one memory: op "+" restored it, "=" kept the current version of a
    memory changed since WHEN, "<" took WHEN's version. An observation's detail is its entity."""

    op: str
    kind: str
    name: str
    detail: str = ""

    def line(self, when: str) -> str:
        name = shorten(self.name, 100) or shorten(self.detail, 100)
        if self.op == "=":
            return f"= {self.kind} {name} changed since {when}: kept current"
        if self.op == "<":
            return f"< {self.kind} {name} changed since {when}: took the version from {when}"
        if self.kind == "observation":
            return f"+ observation on {shorten(self.detail, 60)}: {name}"
        if self.kind == "entity" and self.detail:
            return f"+ entity {name} ({shorten(self.detail, 40)})"
        if self.kind == "memory":
            return f"+ memory {name}: {shorten(self.detail, 60)!r}"
        if self.kind == "item":  # a Markdown list item; detail: its section
            return f'+ item in "{shorten(self.detail, 40)}": {name}'
        if self.kind == "section":
            return f'+ section "{name}"'
        return f"+ {self.kind} {name}"


@dataclass
class MergeResult:
    """The merged document and what the merge did. Counts: `restored` memories, entities,
    relations and relationships; `observations` brought back onto entities that still
    exist; conflicts `kept` (current version) and `taken` (WHEN's version)."""

    doc: Any
    actions: list[Action] = field(default_factory=list)
    restored: int = field(init=False)
    observations: int = field(init=False)
    kept: int = field(init=False)
    taken: int = field(init=False)

    def __post_init__(self) -> None:
        counts = Counter((a.op, a.kind == "observation") for a in self.actions)
        self.restored, self.observations = counts["+", False], counts["+", True]
        self.kept, self.taken = counts["=", False], counts["<", False]

    @property
    def changed(self) -> bool:
        return bool(self.restored or self.observations or self.taken)

    def lines(self, when: str = "WHEN") -> list[str]:
        """For `--dry-run`: one line per memory brought back or conflict resolved."""
        return [a.line(when) for a in self.actions] or [f"nothing lost since {when}"]

    def to_json(self) -> dict[str, Any]:
        counts = {k: getattr(self, k) for k in ("restored", "observations", "kept", "taken")}
        return counts | {"actions": [vars(a) for a in self.actions]}


def merge_docs(current: Any, past: Any, schema: str, conflict: str = "keep") -> MergeResult:
    """Merge `past` (the document at WHEN; None: no file then) into `current` (None: gone now).

    Raises UsageError for a format without identity (plain JSON or JSON Lines, a user
    schema) or an unknown conflict rule. The documents passed in are never modified.
    """
    if conflict not in CONFLICT_RULES:
        raise UsageError(f"unknown conflict rule {conflict!r}", hint="use keep or theirs")
    if not mergeable(schema):
        kind = {"json": "plain JSON", "jsonl": "JSON Lines"}.get(schema, f"schema {schema!r}")
        raise UsageError(
            f"--merge needs memories with an identity (an id, or an entity name), and this "
            f"file's format ({kind}) has none",
            hint=_WHOLE_FILE,
        )
    if past is None:
        return MergeResult(current)  # nothing was there at WHEN: nothing to bring back
    if schema == "markdown":
        return _merge_markdown(current, past)
    merger = _Merger(conflict == "theirs", schema)
    if current is None:  # gone: all of it comes back, and every memory in it is reported
        merge: Callable[[Any, Any, _Merger], Any] = _report_all
    else:
        merge = _merge_graph if schema == GRAPH_SCHEMA else _merge_records
    return MergeResult(merge(current, past, merger), merger.actions)


def _merge_markdown(current: str | None, past: str) -> MergeResult:
    """Sections by heading and list items by text come back; nothing current is touched."""
    from vaultsync import mdmemory

    if current is None:
        return MergeResult(past)
    text, restored = mdmemory.merge(current, past)
    return MergeResult(text, [Action("+", kind, name, where) for kind, name, where in restored])


class _Merger:
    """Resolves one document's memories and records what it did."""

    def __init__(self, theirs: bool, schema: str) -> None:
        self.theirs = theirs
        self.schema = schema
        self.actions: list[Action] = []

    def keyed(self, now: list[Any], then: list[Any], kind: str) -> tuple[list[Any], list[Any]]:
        """`now` with its conflicts resolved (same order), and the items only `then` has."""
        before, after = index_by(then, KEYS[kind]), index_by(now, KEYS[kind])
        resolve = self.entity if kind == "entity" else self.conflict
        merged = [
            item if k not in before or before[k] == item else resolve(kind, item, before[k])
            for k, item in after.items()
        ]
        restored = [item for k, item in before.items() if k not in after]
        self.actions += [Action("+", kind, *label(kind, item)) for item in restored]
        return merged, restored

    def combined(
        self, now: dict[str, list[Any]], then: dict[str, list[Any]], kind: str
    ) -> list[Any]:
        merged, restored = self.keyed(now[kind], then[kind], kind)
        return merged + restored

    def conflict(self, kind: str, now: Any, then: Any) -> Any:
        self.actions.append(Action("<" if self.theirs else "=", kind, label(kind, now)[0]))
        return then if self.theirs else now

    def entity(self, kind: str, now: Any, then: Any) -> Any:
        base = now
        if without_observations(now) != without_observations(then):
            base = self.conflict(kind, now, then)
        notes = observations(now)
        seen = set(map(hashable, notes))
        # a set: each missing one once, in WHEN's order
        missing = list(
            {hashable(o): o for o in observations(then) if hashable(o) not in seen}.values()
        )
        name = str(now.get("name"))
        self.actions += [Action("+", "observation", str(o), name) for o in missing]
        if base is now and not missing:
            return now
        return {**base, "observations": notes + missing}


def _report_all(current: None, past: Any, merger: _Merger) -> Any:
    """The file is gone: it comes back whole, and every memory in it is reported."""
    for kind, items in (parts(past, merger.schema) or {}).items():
        merger.keyed([], items, kind)
    return past


# --- records -------------------------------------------------------------------------------


def _merge_records(current: Any, past: Any, merger: _Merger) -> Any:
    if is_single(current, merger.schema):
        return _merge_single(current, past, merger)
    now, then = _parts(current, past, merger.schema)
    memories = merger.combined(now, then, "memory")
    if merger.schema == "mem0-memory":
        return {**current, "results": memories} if isinstance(current, dict) else memories
    links = merger.combined(now, then, "relationship")
    doc = {**current, "memories": memories}
    if "relationships" in current or links:
        doc["relationships"] = links
    return _recount(doc) if any(a.op == "+" for a in merger.actions) else doc


def _merge_single(current: Any, past: Any, merger: _Merger) -> Any:
    """A one-memory file holds one memory only: a different one there is a conflict."""
    then = _parts(current, past, merger.schema)[1]["memory"]
    if len(then) != 1:
        raise _malformed(merger.schema)
    return current if then[0] == current else merger.conflict("memory", current, then[0])


def _parts(
    current: Any, past: Any, schema: str
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    now, then = parts(current, schema), parts(past, schema)
    if now is None or then is None:
        raise _malformed(schema)
    return now, then


def _recount(doc: dict[str, Any]) -> dict[str, Any]:
    """Keep an export's own counts true, so a re-import does not see a truncated file."""
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        return doc
    meta = dict(meta)
    for count, items in (("memory_count", "memories"), ("relationship_count", "relationships")):
        if isinstance(meta.get(count), int) and isinstance(doc.get(items), list):
            meta[count] = len(doc[items])
    return {**doc, "metadata": meta}


def _malformed(schema: str) -> UsageError:
    return UsageError(
        f"cannot merge: the current file and the one at WHEN are not both {schema} documents",
        hint=_WHOLE_FILE,
    )


# --- MCP knowledge graph -------------------------------------------------------------------


def _merge_graph(current: Any, past: Any, merger: _Merger) -> Any:
    now, then = _parts(current, past, GRAPH_SCHEMA)
    entities, new_entities = merger.keyed(now["entity"], then["entity"], "entity")
    relations, new_relations = merger.keyed(now["relation"], then["relation"], "relation")
    # Resolved items replace the originals where they stand: the file keeps its order.
    pairs = zip(now["entity"] + now["relation"], entities + relations, strict=True)
    swap = {id(old): new for old, new in pairs}
    if graph_document(current):
        doc = dict(current)
        for key, new in (("entities", new_entities), ("relations", new_relations)):
            if key in current or new:
                doc[key] = [swap.get(id(x), x) for x in current.get(key, [])] + new
        return doc
    if not isinstance(current, list):  # a legacy memory.json of one line
        if not (new_entities or new_relations):
            return swap.get(id(current), current)  # still one line: still written as JSON
        current = [current]  # now several lines: write it as JSON Lines
    lines = [swap.get(id(x), x) for x in current]
    return _insert_after(_insert_after(lines, "entity", new_entities), "relation", new_relations)


def _insert_after(lines: list[Any], kind: str, extra: list[Any]) -> list[Any]:
    """`extra` after the last line of `kind` (entities first, as the MCP server writes them)."""
    if not extra:
        return lines
    last = [
        i for i, line in enumerate(lines) if isinstance(line, dict) and line.get("type") == kind
    ]
    at = last[-1] + 1 if last else (0 if kind == "entity" else len(lines))
    return lines[:at] + extra + lines[at:]


# --- writing it back -----------------------------------------------------------------------


def writes_lines(doc: Any, schema: str, was_lines: bool) -> bool:
    """Whether a merged document is written as JSON Lines: as it was read, except that a
    legacy single-object memory.json grows into JSON Lines once a merge adds lines."""
    return was_lines or (schema == GRAPH_SCHEMA and isinstance(doc, list))


def dumps(doc: Any, lines: bool, like: bytes | None) -> bytes:
    """Serialize `doc` in the style of `like` (the current file; None: a sensible default).

    JSON Lines: one compact value per line, with `like`'s separators (the MCP server writes
    `{"type":"entity",...}`, no spaces). JSON: `like`'s indentation (2, 4, tab or none).
    Both: key order kept, non-ASCII as is, `like`'s line endings, final newline (the MCP
    server writes none) and UTF-8 BOM.
    """
    like = like or b""
    if isinstance(doc, str):  # Markdown: merged as text, line endings and BOM kept
        bom = codecs.BOM_UTF8 if like.startswith(codecs.BOM_UTF8) else b""
        return bom + doc.encode("utf-8", "surrogatepass")
    sample = like[:65536].decode("utf-8", "replace").lstrip("\ufeff")
    newline = "\r\n" if b"\r\n" in like else "\n"
    end = newline if like.endswith(b"\n") or not like else ""
    bom = codecs.BOM_UTF8 if like.startswith(codecs.BOM_UTF8) else b""

    def render(ascii_only: bool) -> bytes:
        text = (_lines if lines else _document)(doc, sample, ascii_only)
        return bom + (text.replace("\n", newline) + end).encode("utf-8")

    try:
        return render(False)
    except UnicodeEncodeError:  # a lone surrogate (\ud83d) can only be written escaped
        return render(True)


def _lines(doc: Any, sample: str, ascii_only: bool) -> str:
    seps = _separators(sample.lstrip().partition("\n")[0], ":")
    values = doc if isinstance(doc, list) else [doc]
    return "\n".join(json.dumps(v, ensure_ascii=ascii_only, separators=seps) for v in values)


def _document(doc: Any, sample: str, ascii_only: bool) -> str:
    indent = _indent(sample) if sample else _DEFAULT_INDENT
    seps = _separators(sample, ": ")
    if indent is None:
        return json.dumps(doc, ensure_ascii=ascii_only, separators=seps)
    return _indented(doc, indent, seps[1], "\n", ascii_only)


def _indented(value: Any, step: str, key_sep: str, pad: str, ascii_only: bool) -> str:
    """What json.dumps(indent=...) writes, but fast: `indent` selects json's pure-Python
    encoder (30 s for a 500 MB export), so each flat list (an embedding) is encoded in C."""
    inner = pad + step
    if not (isinstance(value, dict | list) and value):
        return json.dumps(value, ensure_ascii=ascii_only)
    if isinstance(value, dict):
        items = [
            json.dumps(k, ensure_ascii=ascii_only) + key_sep
            + _indented(v, step, key_sep, inner, ascii_only) for k, v in value.items()
        ]  # fmt: skip
        return "{" + inner + ("," + inner).join(items) + pad + "}"
    if all(x is None or type(x) in _FLAT for x in value):  # no ", " inside: safe to split on
        return "[" + inner + json.dumps(value)[1:-1].replace(", ", "," + inner) + pad + "]"
    items = [_indented(v, step, key_sep, inner, ascii_only) for v in value]
    return "[" + inner + ("," + inner).join(items) + pad + "]"


def _indent(sample: str) -> str | None:
    """The indentation of the first indented line; None when the document is on one line."""
    body = sample.strip()
    if "\n" not in body:  # one line; but an empty "[]" says nothing: it gets the default
        return None if len(body) > 2 else _DEFAULT_INDENT
    second = body.split("\n", 2)[1]
    return second[: len(second) - len(second.lstrip(" \t"))]


def _separators(sample: str, key: str) -> tuple[str, str]:
    """The first "," and ":" outside strings in `sample`, each with the space after it if any.

    Without a "," to look at, items are separated the way keys are (`{"a":1}` is compact)."""
    found: dict[str, str] = {}
    in_string = escaped = False
    for i, char in enumerate(sample):
        if escaped:
            escaped = False
        elif in_string:
            escaped, in_string = char == "\\", char != '"'
        elif char == '"':
            in_string = True
        elif char in ",:" and char not in found:
            found[char] = char + " " if sample[i + 1 : i + 2] == " " else char
            if len(found) == 2:
                break
    key = found.get(":", key)
    return found.get(",", "," if key == ":" else ", "), key
