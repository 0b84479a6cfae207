"""Memories and their identity in each format: what "the same memory" is.

Records by `id` (mem0 items, export memories, a one-memory file), MCP entities by name
and relations by (from, to, relationType), export relationships by (source_id,
target_id, rel_type). One definition, so that a diff, a merge and an export agree.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from typing import Any

RECORD_SCHEMAS = ("memory-record", "mem0-memory", "memory-export")
GRAPH_SCHEMA = "mcp-knowledge-graph"
MCP_RELATION = ("from", "to", "relationType")
EXPORT_RELATION = ("source_id", "target_id", "rel_type")
_CONTAINERS = {
    "mem0-memory": ("results",), "memory-export": ("memories", "relationships"),
    GRAPH_SCHEMA: ("entities", "relations"),
}  # fmt: skip
_RELATION_KEYS = {"relation": MCP_RELATION, "relationship": EXPORT_RELATION}


def hashable(value: Any) -> Hashable:
    if value is None or isinstance(value, str | int | float):
        return value
    return ("#", json.dumps(value, sort_keys=True, ensure_ascii=False))


def record_key(item: Any) -> Hashable:
    """A memory's identity: its id; without one, a record is known only by its whole content."""
    has_id = isinstance(item, dict) and item.get("id") is not None
    return hashable(item["id"]) if has_id else ("record", hashable(item))


def entity_key(item: Any) -> Hashable:
    return hashable(item.get("name"))


def relation_key(keys: tuple[str, ...]) -> Callable[[Any], Hashable]:
    def key(item: Any) -> Hashable:
        return (
            tuple(hashable(item.get(k)) for k in keys) if isinstance(item, dict) else hashable(item)
        )

    return key


KEYS: dict[str, Callable[[Any], Hashable]] = {
    "memory": record_key, "entity": entity_key, "relation": relation_key(MCP_RELATION),
    "relationship": relation_key(EXPORT_RELATION), "line": record_key,
}  # fmt: skip


def index_by(items: Iterable[Any], key: Callable[[Any], Hashable]) -> dict[Hashable, Any]:
    """Items by (identity, occurrence): a duplicated id is two memories, not one lost."""
    out: dict[Hashable, Any] = {}
    seen: Counter[Hashable] = Counter()
    for item in items:
        k = key(item)
        out[k, seen[k]] = item
        seen[k] += 1
    return out


def is_single(doc: Any, schema: str) -> bool:
    """One memory per file: a memory record, or a bare mem0 item."""
    if not isinstance(doc, dict):
        return False
    return schema == "memory-record" or (schema == "mem0-memory" and "results" not in doc)


def record_items(doc: Any, schema: str) -> list[Any] | None:
    """The memories of a record-format document ([] for no file), None if it is not one."""
    if doc is None:
        return []
    if is_single(doc, schema):
        return [doc]
    if schema == "mem0-memory":
        return _list_at(doc, "results") if isinstance(doc, dict) else doc
    return _list_at(doc, "memories") if schema == "memory-export" else None


def _list_at(doc: Any, key: str) -> list[Any] | None:
    value = doc.get(key, []) if isinstance(doc, dict) else None
    return value if isinstance(value, list) else None


def graph_of(doc: Any) -> dict[str, list[Any]] | None:
    """An MCP graph's entities, relations and "line"s that are neither (only in an invalid
    file, so that a diff still shows them); from JSON Lines or {"entities", "relations"}."""
    if graph_document(doc):
        entities, relations = _list_at(doc, "entities"), _list_at(doc, "relations")
        if entities is None or relations is None:
            return None
        odd = [x for x in entities + relations if not isinstance(x, dict)]
        entities, relations = ([x for x in v if isinstance(x, dict)] for v in (entities, relations))
        return {"entity": entities, "relation": relations, "line": odd}
    graph: dict[str, list[Any]] = {"entity": [], "relation": [], "line": []}
    for value in doc if isinstance(doc, list) else [] if doc is None else [doc]:
        kind = value.get("type") if isinstance(value, dict) else None
        graph[kind if kind in ("entity", "relation") else "line"].append(value)
    return graph


def graph_document(doc: Any) -> bool:
    """The {"entities", "relations"} form, as opposed to JSON Lines (or one line of them)."""
    return isinstance(doc, dict) and ("entities" in doc or "relations" in doc)


def parts(doc: Any, schema: str) -> dict[str, list[Any]] | None:
    """A document's memories by kind ("memory", "relationship" / "entity", "relation", "line"),
    each keyed by KEYS[kind]; None if `doc` is not in that format, empty lists if it is None."""
    if schema == GRAPH_SCHEMA:
        return graph_of(doc)
    memories = record_items(doc, schema)
    export = schema == "memory-export" and doc is not None
    links = _list_at(doc, "relationships") if export else []
    return (
        None if memories is None or links is None else {"memory": memories, "relationship": links}
    )


def envelope(doc: Any, schema: str) -> dict[str, Any]:
    """What a document holds besides its lists of memories (an export's metadata...)."""
    lists = _CONTAINERS.get(schema, ())
    if not isinstance(doc, dict) or not any(k in doc for k in lists):
        return {}
    return {k: v for k, v in doc.items() if k not in lists}


def observations(entity: Any) -> list[Any]:
    found = entity.get("observations") if isinstance(entity, dict) else None
    return found if isinstance(found, list) else []


def without_observations(entity: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entity.items() if k != "observations"}


def label(kind: str, item: Any) -> tuple[str, str]:
    """(name, detail) as people know a memory: id and text, entity name and type, a → b (t)."""
    if not isinstance(item, dict) or kind == "line":
        return ("(no id)" if kind == "memory" else ""), json.dumps(item, ensure_ascii=False)
    if kind == "entity":
        return str(item.get("name")), str(item.get("entityType") or "")
    if kind == "memory":
        texts = (item[k] for k in ("content", "memory", "text") if isinstance(item.get(k), str))
        text = next(texts, None)  # not a default argument: dumping a record costs its size
        return str(item.get("id", "(no id)")), json.dumps(item)[:200] if text is None else text
    source, target, rel = (item.get(k) for k in _RELATION_KEYS[kind])
    return f"{source} → {target}" + (f" ({rel})" if rel is not None else ""), ""


def shorten(text: str, width: int) -> str:
    text = " ".join(text.split("\n"))
    return text if len(text) <= width else text[: width - 1] + "…"


def mergeable(schema: str) -> bool:
    """Whether files of `schema` hold memories with an identity, so `--merge` can work
    (Markdown: sections by heading, list items by their text)."""
    return schema in (GRAPH_SCHEMA, "markdown") or schema in RECORD_SCHEMAS
