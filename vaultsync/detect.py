"""Which shipped schema a parsed document or a file of JSON Lines is, when the config
names none: by shape, as the agents that write them lay them out."""

from __future__ import annotations

from typing import Any

# "auto" only claims a file whose shape is unambiguous. A file that merely shares a key
# name (an API response with "results", a chat message with "id" and a list "content")
# is checked for well-formedness only: a false rejection would stop it being backed up.

_GRAPH_TYPES = ("entity", "relation")


def is_graph_line(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") in _GRAPH_TYPES


def of_lines(values: list[Any]) -> str:
    return "mcp-knowledge-graph" if any(map(is_graph_line, values)) else "jsonl"


def of_document(doc: Any) -> str:
    if isinstance(doc, list):
        return "mem0-memory" if any(_is_mem0_item(x) for x in doc) else "json"
    if not isinstance(doc, dict):
        return "json"
    if isinstance(doc.get("memories"), list) and "metadata" in doc:
        return "memory-export"
    if _is_mem0_results(doc.get("results")):
        return "mem0-memory"
    if isinstance(doc.get("entities"), list) and isinstance(doc.get("relations"), list):
        return "mcp-knowledge-graph"
    if is_graph_line(doc):
        return "mcp-knowledge-graph"
    if "id" in doc and isinstance(doc.get("memory"), str):
        return "mem0-memory"
    if "id" in doc and isinstance(doc.get("content"), str):
        return "memory-record"
    return "json"


def _is_mem0_item(value: Any) -> bool:
    return isinstance(value, dict) and "memory" in value and "id" in value


def _is_mem0_results(results: Any) -> bool:
    if not isinstance(results, list):
        return False
    return not results or any(isinstance(x, dict) and "memory" in x for x in results)
