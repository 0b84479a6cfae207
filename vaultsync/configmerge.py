"""vaultsync.toml changed on two machines, merged as data rather than as lines.

Two machines that each `track` something before they meet keep both sources: sources
are matched by name, the settings of `[vault]` by key. For each, a three-way rule
against what both started from (the merge base): the side that changed it wins; both
changed it differently is a real conflict, which keeps this machine's value and says so.
The text written is this machine's file (its comments and layout) with the other
machine's tables put in, so a merge never reformats the user's config.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vaultsync import config
from vaultsync.errors import VaultsyncError

# Never taken away by the other machine: a clone made from a bundle drops
# `vault.remote` (it has nothing to push to), and taking that in would silently stop
# every other machine's pushes.
_KEPT_HERE = {("vault", "remote")}


@dataclass
class Merged:
    text: bytes
    conflicts: list[str] = field(default_factory=list)  # each in words: what was kept


def merge(bases: Sequence[bytes | None], ours: bytes, theirs: bytes) -> Merged:
    """The merged vaultsync.toml; `bases` are the file at each merge base (None: absent)."""
    import tomlkit

    try:
        base_docs = [_parse(b) if b is not None else {} for b in bases] or [{}]
        o, t = _parse(ours), _parse(theirs)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return Merged(ours, [f"kept this machine's file ({exc})"])
    doc = tomlkit.parse(ours.decode("utf-8"))
    their_doc = tomlkit.parse(theirs.decode("utf-8"))
    out = Merged(ours)
    for table in sorted((set(o) | set(t)) - {"sources"}):
        _merge_table(doc, table, [b.get(table, {}) for b in base_docs], o, t, out)
    _merge_sources(doc, their_doc, [_by_name(b) for b in base_docs], o, t, out)
    text = tomlkit.dumps(doc).encode("utf-8")
    try:
        config.from_dict(tomllib.loads(text.decode("utf-8")))
    except (VaultsyncError, tomllib.TOMLDecodeError) as exc:
        return Merged(ours, [f"kept this machine's file (merged, {exc})"])
    out.text = text
    return out


def _parse(data: bytes) -> dict[str, Any]:
    return tomllib.loads(data.decode("utf-8"))


def _by_name(doc: dict[str, Any]) -> dict[str, Any]:
    return {s.get("name"): s for s in doc.get("sources") or []}


def _pick(bases: list[Any], ours: Any, theirs: Any) -> tuple[str, bool]:
    """("ours" | "theirs", conflict?) for one value (None: absent)."""
    if ours == theirs or theirs in bases:
        return "ours", False  # the same, or only we changed it
    if ours in bases:
        return "theirs", False  # only they changed it
    return "ours", True


def _merge_table(
    doc: Any, table: str, bases: list[Any], o: dict[str, Any], t: dict[str, Any], out: Merged
) -> None:
    import tomlkit

    ours, theirs = o.get(table), t.get(table)
    if not isinstance(ours, dict) or not isinstance(theirs, dict):
        side, conflict = _pick(bases, ours, theirs)
        if conflict:
            out.conflicts.append(f"[{table}]: changed on both machines; kept this machine's")
        elif side == "theirs" and theirs is not None:
            doc[table] = theirs
        return
    for key in sorted(set(ours) | set(theirs)):
        if (table, key) in _KEPT_HERE and key not in theirs:
            continue
        b = [base.get(key) for base in bases if isinstance(base, dict)] or [None]
        side, conflict = _pick(b, ours.get(key), theirs.get(key))
        if conflict:
            out.conflicts.append(
                f"{table}.{key}: {ours.get(key)!r} here, {theirs.get(key)!r} on the other "
                "machine; kept this machine's value"
            )
        elif side == "theirs":
            if key not in theirs:
                del doc[table][key]
            elif table in doc:
                doc[table][key] = theirs[key]
            else:
                doc[table] = tomlkit.table()
                doc[table][key] = theirs[key]


def _merge_sources(
    doc: Any,
    their_doc: Any,
    bases: list[dict[str, Any]],
    o: dict[str, Any],
    t: dict[str, Any],
    out: Merged,
) -> None:
    import tomlkit

    ours, theirs = _by_name(o), _by_name(t)
    their_tables = {s.get("name"): s for s in their_doc.get("sources") or []}
    names = list(ours) + [n for n in theirs if n not in ours]
    for name in names:
        b = [base.get(name) for base in bases]
        side, conflict = _pick(b, ours.get(name), theirs.get(name))
        if conflict:
            out.conflicts.append(_source_conflict(name, ours.get(name), theirs.get(name)))
            continue
        if side == "ours":
            continue
        sources = doc.get("sources")
        at = [i for i, s in enumerate(sources or []) if s.get("name") == name]
        if name not in theirs:  # they untracked it, we did not touch it
            del sources[at[0]]
            if not sources:
                del doc["sources"]
        elif at:
            sources[at[0]] = their_tables[name]
        else:
            if sources is None:
                sources = tomlkit.aot()
                doc.append("sources", sources)
            sources.append(their_tables[name])


def _source_conflict(name: str, ours: Any, theirs: Any) -> str:
    if ours is None:
        return f"source {name!r}: untracked here, changed on the other machine; left untracked"
    if theirs is None:
        return f"source {name!r}: untracked on the other machine, changed here; kept it"
    keys = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
    said = ", ".join(f"{k} {ours.get(k)!r} here, {theirs.get(k)!r} there" for k in keys)
    return f"source {name!r} set differently on two machines ({said}); kept this machine's"
