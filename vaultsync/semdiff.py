"""What changed in one memory file, as memories rather than text lines.

Records are compared record by record, keyed by `id`; MCP graphs entity by entity (by name)
and relation by relation (by from, to, relationType). Each pair is compared with `==` first,
in C, and only the few that differ go to deepdiff for their changed fields: a whole-document
deep diff (let alone `ignore_order`, which hashes every value) would take minutes on a
600 MB export. deepdiff is imported only when a changed record (or an export's metadata)
needs that detail: its import alone costs ~115 ms, and a sync summarises every changed file.

What "the same memory" is in each format (`memories.parts` and `memories.KEYS`) is defined
once, in memories, so a diff, a merge and an export always agree on it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from vaultsync.fielddiff import (
    FieldChange,
    field_changes,
    length,
    preview,
    redact,
)
from vaultsync.memories import (
    GRAPH_SCHEMA,
    KEYS,
    RECORD_SCHEMAS,
    envelope,
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

_MAX_KEYS = 1000  # generic JSON
_WIDTH = 120  # a summary is one line of a commit body
_KINDS = ("memory", "entity", "observation", "relation", "relationship", "line")
_PLURALS = {"memory": "memories", "entity": "entities"}
_STATUS_TEXT = {"created": "created", "deleted": "deleted", "unchanged": "no change in memories"}


# --- the result ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A memory, entity, observation, relation(ship) or stray graph line: added (+), removed (-)
    or changed (~). `name`: the id, the entity name, "from → to (type)" or the observation's
    text; `detail`: a memory's text or an entity's type; `children`: an entity's observations;
    `omitted`: changed fields left out of `fields`."""

    op: str
    kind: str
    name: str
    detail: str = ""
    fields: tuple[FieldChange, ...] = ()
    children: tuple[Change, ...] = ()
    omitted: int = 0

    def head(self) -> str:
        name = shorten(self.name, 100)
        if self.kind == "observation":
            return f"{self.op} observation: {name}"
        if self.kind in ("item", "text"):  # a Markdown line, as it is written
            return f"{self.op} {name}"
        if self.kind == "section":
            return f'{self.op} section "{name}"' if name else f"{self.op} text before any heading"
        if self.kind == "entity" and self.detail:
            return f"{self.op} entity {name} ({shorten(self.detail, 40)})"
        if self.kind == "memory" and self.op != "~":
            return f"{self.op} memory {name}: {preview(self.detail)}"
        return f"{self.op} {self.kind} {name}"

    def lines(self) -> list[str]:
        rows = [f.text() for f in self.fields]
        rows += [f"… and {self.omitted} more fields"] if self.omitted else []
        if len(rows) == 1 and self.fields[0].op == "~" and not self.children:
            return [f"{self.head()}: {rows[0]}"]
        rows += [line for child in self.children for line in child.lines()]
        return [self.head(), *(f"  {row}" for row in rows)]


@dataclass(frozen=True)
class SemDiff:
    """The changes between two versions of one file.

    `status`: created, deleted, changed, or unchanged (equal as memories: only formatting or
    order differs). `shape`: "records", "record" (one memory per file), "graph", or "json"
    (no identity: `keys` holds the changed JSON paths, `omitted` how many were left out).
    """

    schema: str
    status: str
    shape: str
    changes: tuple[Change, ...] = ()
    keys: tuple[FieldChange, ...] = ()
    omitted: int = 0

    @property
    def is_empty(self) -> bool:
        return self.status == "unchanged"

    def summary(self) -> str:
        """One line for a commit body: "+3 entities, 1 entity changed, +2 observations"."""
        if self.status != "changed":
            return _STATUS_TEXT[self.status]
        if self.shape == "text":  # Markdown or text: sections, items, lines
            from vaultsync.mdmemory import summary_parts

            front = [f"front matter {k.path.lstrip('/')} changed" for k in self.keys]
            return _fit("", summary_parts(self.changes) + front, self.omitted)
        if self.shape == "json":
            return _fit("keys changed: ", [_key_label(k) for k in self.keys], self.omitted)
        if self.shape == "record":
            memory = self.changes[0]
            return _fit("memory changed: ", [f.path for f in memory.fields], memory.omitted)
        if not self.keys:
            return _fit("", _counts(self.changes))
        counts = ", ".join(_counts(self.changes))
        prefix = f"{counts}; keys changed: " if counts else "keys changed: "
        return _fit(prefix, [_key_label(k) for k in self.keys], self.omitted)

    def lines(self, limit: int = 200) -> list[str]:
        """For `vaultsync diff`: one change per line, fields and observations indented."""
        out = [_STATUS_TEXT[self.status]] if self.status != "changed" else []
        out += [f"~ {k.text()}" if k.op == "~" else k.text() for k in self.keys]
        out += [f"… and {self.omitted} more keys"] if self.omitted else []
        out += [line for change in self.changes for line in change.lines()]
        if len(out) > limit:
            out[limit - 1 :] = [f"… and {len(out) - limit + 1} more lines"]
        return out

    def to_json(self) -> dict[str, Any]:
        """For `--json`: every field and the summary; embeddings only as their sizes."""
        return {**_jsonable(self), "summary": self.summary()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, FieldChange) and value.elided:
        sizes = {"old_size": length(value.old), "new_size": length(value.new)}
        return {"path": value.path, "op": value.op, "elided": True, **sizes}
    if isinstance(value, FieldChange | Change | SemDiff):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    return [_jsonable(v) for v in value] if isinstance(value, tuple) else redact(value)


def _key_label(key: FieldChange) -> str:
    return key.path if key.op == "~" else f"{key.op}{key.path}"


def _noun(kind: str, n: int) -> str:
    return kind if n == 1 else _PLURALS.get(kind, kind + "s")


def _counts(changes: Iterable[Change]) -> list[str]:
    """ "+3 entities", "1 entity changed"... An added entity's observations come with it: only
    those added to or removed from an existing entity are counted."""
    counts: Counter[tuple[str, str]] = Counter()
    for change in changes:
        counts[change.kind, change.op] += 1
        if change.op == "~":
            counts.update((child.kind, child.op) for child in change.children)
    parts = []
    for kind in _KINDS:
        for op in "+-~":
            if n := counts[kind, op]:
                noun = _noun(kind, n)
                parts.append(f"{n} {noun} changed" if op == "~" else f"{op}{n} {noun}")
    return parts


def _fit(prefix: str, items: Sequence[str], omitted: int = 0) -> str:
    """`prefix` and as many items as fit in one commit-body line, then "and N more"."""
    text, shown, room = prefix, 0, _WIDTH - 16  # 16: room for ", and 9999 more"
    for item in items:
        if shown and len(text) + 2 + len(item) > room:
            break
        text += (", " if shown else "") + shorten(item, room - len(prefix))
        shown += 1
    left = len(items) - shown + omitted
    return f"{text}, and {left} more" if left else text


def diff_docs(old: Any, new: Any, schema: str) -> SemDiff:
    """What changed from `old` to `new` (parsed documents; None: the file did not exist).

    `schema` is the applied schema's name; a format without identity (json, jsonl, a user
    schema) is diffed as plain JSON, by path.
    """
    if schema in ("markdown", "text"):
        from vaultsync import mdmemory  # sections and items, not JSON

        return mdmemory.diff(old, new, schema)
    status = _status(old, new)
    if status == "unchanged":
        return SemDiff(schema, status, _shape(new, schema))
    if status == "changed" and is_single(old, schema) and is_single(new, schema):
        memory = _memory_change("~", old, new)  # the file is the memory, whatever its id
        return SemDiff(schema, status if memory else "unchanged", "record", _some(memory))
    before = parts(old, schema) if mergeable(schema) else None  # never markdown: above
    after = parts(new, schema) if before is not None else None
    if before is None or after is None:
        return _diff_json(old, new, schema, status)
    changes = tuple(c for kind in before for c in _keyed(before[kind], after[kind], kind))
    keys, omitted = _envelope_changes(old, new, schema) if status == "changed" else ((), 0)
    found = status if changes or keys else "unchanged"
    return SemDiff(
        schema, found, _shape(old if new is None else new, schema), changes, keys, omitted
    )


def _envelope_changes(old: Any, new: Any, schema: str) -> tuple[tuple[FieldChange, ...], int]:
    """What changed around the memories: an export's metadata, a wrapper's other keys."""
    return field_changes(envelope(old, schema), envelope(new, schema), absolute=True)


def _some(change: Change | None) -> tuple[Change, ...]:
    return () if change is None else (change,)


def _status(old: Any, new: Any) -> str:
    if old is None or new is None:
        return "created" if new is not None else "deleted" if old is not None else "unchanged"
    return "unchanged" if old == new else "changed"


def _shape(doc: Any, schema: str) -> str:
    if schema == GRAPH_SCHEMA:
        return "graph"
    if schema in RECORD_SCHEMAS:
        return "record" if is_single(doc, schema) else "records"
    return "json"


Maker = Callable[[str, Any, Any], Change | None]


def _keyed(old: list[Any], new: list[Any], kind: str) -> list[Change]:
    """Added, removed, then changed items: dict lookups and `==`, no deep diff of the rest."""
    make = _MAKERS[kind]
    before, after = index_by(old, KEYS[kind]), index_by(new, KEYS[kind])
    found = [make("+", None, item) for k, item in after.items() if k not in before]
    found += [make("-", item, None) for k, item in before.items() if k not in after]
    found += [make("~", before[k], v) for k, v in after.items() if k in before and before[k] != v]
    return [change for change in found if change is not None]


def _maker(kind: str) -> Maker:
    """Changes of memories, relations, relationships: named as `label` names them."""

    def make(op: str, old: Any, new: Any) -> Change | None:
        name, detail = label(kind, old if op == "-" else new)
        if op != "~":
            return Change(op, kind, name, detail)
        found, omitted = field_changes(old, new)
        return Change(op, kind, name, fields=found, omitted=omitted) if found else None

    return make


_memory_change, _relation, _relationship = map(_maker, ("memory", "relation", "relationship"))


def _entity_change(op: str, old: Any, new: Any) -> Change | None:
    name, kind = label("entity", old if op == "-" else new)
    if op != "~":
        item = old if op == "-" else new
        notes = tuple(Change(op, "observation", str(o)) for o in observations(item))
        return Change(op, "entity", name, kind, children=notes)
    notes = tuple(_observation_changes(observations(old), observations(new)))
    found, omitted = field_changes(without_observations(old), without_observations(new))
    if not (notes or found):
        return None  # only the order of observations changed, and they are a set
    return Change(op, "entity", name, kind, found, notes, omitted)


def _observation_changes(old: list[Any], new: list[Any]) -> list[Change]:
    before, after = set(map(hashable, old)), set(map(hashable, new))
    added = [Change("+", "observation", str(o)) for o in new if hashable(o) not in before]
    return added + [Change("-", "observation", str(o)) for o in old if hashable(o) not in after]


def _line_change(op: str, old: Any, new: Any) -> Change | None:
    return Change(op, "line", json.dumps(old if op == "-" else new, ensure_ascii=False))


_MAKERS: dict[str, Maker] = {
    "memory": _memory_change, "entity": _entity_change, "relation": _relation,
    "relationship": _relationship, "line": _line_change,
}  # fmt: skip


def _diff_json(old: Any, new: Any, schema: str, status: str) -> SemDiff:
    if status != "changed":
        return SemDiff(schema, status, "json")
    keys, omitted = field_changes(old, new, limit=_MAX_KEYS, absolute=True)
    return SemDiff(schema, "changed" if keys else "unchanged", "json", keys=keys, omitted=omitted)
