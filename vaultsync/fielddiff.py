"""The changed fields of two values, as deepdiff finds them, and how one field change
reads: embeddings are reported as changed and never printed.

deepdiff is imported only when a changed record needs field detail (its import alone
costs ~115 ms)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from vaultsync.memories import shorten

# A field with one of these names is an embedding even when short or null; any other list of
# at least _MIN_VECTOR numbers is one too. Either way it is reported as changed, never printed.
VECTOR_KEYS = frozenset({"embedding", "embeddings", "vector"})
_MIN_VECTOR = 32
_MAX_FIELDS = 100  # per memory: a rewritten nested list must not flood a commit body
_VECTOR = "vector_changed"
_ADDED = frozenset({"dictionary_item_added", "iterable_item_added"})
_REMOVED = frozenset({"dictionary_item_removed", "iterable_item_removed"})


@dataclass(frozen=True)
class FieldChange:
    """One changed field: `path` is "metadata/client" in a memory, "/a/b" in generic JSON.

    `op`: "+" added, "-" removed, "~" changed. `elided`: the values are embeddings, which are
    reported as changed and never printed (`to_json` gives their sizes).
    """

    path: str
    op: str
    old: Any = None
    new: Any = None
    elided: bool = False

    def text(self) -> str:
        if self.op != "~":
            value = self.new if self.op == "+" else self.old
            return f"{self.op} {self.path}: {_size(value) if self.elided else preview(value)}"
        if not self.elided:
            return f"{self.path}: {preview(self.old)} → {preview(self.new)}"
        resized = length(self.old) != length(self.new)
        return f"{self.path} changed" + (
            f" ({_size(self.old)} → {_size(self.new)})" if resized else ""
        )


# --- values --------------------------------------------------------------------------------


def preview(value: Any, width: int = 60) -> str:
    """A value as one short line: strings quoted, embeddings as their size."""
    if isinstance(value, str):
        return repr(shorten(value, width))
    return shorten(json.dumps(redact(value), ensure_ascii=False), width)


def redact(value: Any, key: Any = None) -> Any:
    """`value` with each embedding in it replaced by its size: its floats are never shown."""
    if _numbers(value) and value and (key in VECTOR_KEYS or len(value) >= _MIN_VECTOR):
        return f"[{plural(len(value), 'number')}]"
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    return [redact(v) for v in value] if isinstance(value, list) else value


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _numbers(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in value
    )


def is_vector(value: Any) -> bool:
    return isinstance(value, list) and len(value) >= _MIN_VECTOR and _numbers(value)


def length(value: Any) -> int | None:
    return len(value) if isinstance(value, list) else None


def _size(value: Any) -> str:
    return plural(len(value), "number") if isinstance(value, list) else preview(value, 20)


# --- diffing -------------------------------------------------------------------------------


class _Pruner:
    """A deepdiff operator: an equal subtree is skipped after one `==` (in C) instead of being
    walked node by node, and an embedding is reported once as changed, not number by number."""

    def match(self, level: Any) -> bool:
        return True

    def give_up_diffing(self, level: Any, diff_instance: Any) -> bool:
        if level.t1 == level.t2:
            return True
        path = level.path(output_format="list")
        vector_key = bool(path) and path[-1] in VECTOR_KEYS
        if not (vector_key or is_vector(level.t1) or is_vector(level.t2)):
            return False
        diff_instance.custom_report_result(_VECTOR, level)
        return True


def field_changes(
    old: Any, new: Any, *, limit: int = _MAX_FIELDS, absolute: bool = False
) -> tuple[tuple[FieldChange, ...], int]:
    """The changed fields of two values, sorted by path, at most `limit`; and how many more."""
    if old == new:
        return (), 0
    found = _plain(old, new, [], absolute)
    if found is None:
        from deepdiff import DeepDiff

        # threshold 0: always name the changed keys, never "the whole object was replaced".
        tree = DeepDiff(
            old, new, view="tree", threshold_to_diff_deeper=0, custom_operators=[_Pruner()]
        )
        found = [_field(r, level, absolute) for r, levels in tree.items() for level in levels]
    found.sort(key=lambda pair: pair[0])
    return tuple(change for _, change in found[:limit]), max(0, len(found) - limit)


Found = list[tuple[list[tuple[int, str]], FieldChange]]


def _plain(old: Any, new: Any, parts: list[str], absolute: bool) -> Found | None:
    """What deepdiff (with _Pruner) reports, for two dicts of str keys whose differing
    values are not lists: a revised memory record. None: ask deepdiff. The common case
    then costs neither deepdiff's import (~0.1 s) nor its walk."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return None
    found: Found = []
    for key in old.keys() | new.keys():
        if not isinstance(key, str):
            return None
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if a == b:
            continue
        at = [*parts, key]
        path = "/".join(p.replace("~", "~0").replace("/", "~1") for p in at)
        path = "/" + path if absolute else path
        order = [(1, p) for p in at]
        vector = key in VECTOR_KEYS
        if a is _MISSING:
            found.append((order, FieldChange(path, "+", new=b, elided=vector or is_vector(b))))
        elif b is _MISSING:
            found.append((order, FieldChange(path, "-", old=a, elided=vector or is_vector(a))))
        elif isinstance(a, list) or isinstance(b, list):
            return None  # items compared one by one, or an embedding: deepdiff's own rules
        elif isinstance(a, dict) and isinstance(b, dict) and not vector:
            below = _plain(a, b, at, absolute)
            if below is None:
                return None
            found += below
        else:
            found.append((order, FieldChange(path, "~", a, b, elided=vector)))
    return found


_MISSING: Any = object()


def _field(report: str, level: Any, absolute: bool) -> tuple[list[tuple[int, str]], FieldChange]:
    parts = level.path(output_format="list")
    path = "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    path = "/" + path if absolute else path
    # Indexes sort as numbers (2 before 10), before keys; the change itself never compares.
    order = [(0, f"{p:012d}") if isinstance(p, int) else (1, str(p)) for p in parts]
    if report == _VECTOR:
        return order, FieldChange(path, "~", level.t1, level.t2, elided=True)
    vector = bool(parts) and parts[-1] in VECTOR_KEYS
    if report in _ADDED:
        return order, FieldChange(path, "+", new=level.t2, elided=vector or is_vector(level.t2))
    if report in _REMOVED:
        return order, FieldChange(path, "-", old=level.t1, elided=vector or is_vector(level.t1))
    return order, FieldChange(path, "~", level.t1, level.t2)
