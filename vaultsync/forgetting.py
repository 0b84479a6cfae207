"""The forgetting alarm: a memory file that lost most of its memories in one sync.

An agent that wipes its graph writes a valid, smaller file; the sync commits it and
would say "ok". Only files with identity (records, mem0 items, MCP entities, export
memories) are counted, only when they shrank, and only from what the commit summary
has read already (HEAD's version and the new one): a sync that forgets nothing parses
nothing more. A folder of one-memory files is the mass-deletion guard's job.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaultsync.memories import GRAPH_SCHEMA, mergeable, parts

if TYPE_CHECKING:
    from vaultsync.gitvault import GitVault
    from vaultsync.plan import Change, Plan

MIN_FORGOTTEN = 5  # fewer lost memories is pruning, not a wipe
_ODD_SHAPES = (RecursionError, ValueError, TypeError, KeyError, AttributeError)
MAX_DELETED_READ = 200  # more deleted files is a folder of records: the deletion guard's job


@dataclass(frozen=True)
class Forgotten:
    path: str  # the vault path
    before: int  # memories in the previous commit
    after: int  # memories now
    previous: str  # the commit that still holds them
    restore: str  # the command that brings them back

    @property
    def lost(self) -> int:
        return self.before - self.after

    @property
    def message(self) -> str:
        return (
            f"{self.path} lost {self.lost} of its {self.before} memories in one sync; "
            f"bring them back with: {self.restore}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "before": self.before,
            "after": self.after,
            "previous": self.previous,
            "restore": self.restore,
        }


def restore_command(vault: Path, previous: str, path: str) -> str:
    return (
        f"vaultsync restore --at {previous[:12]} --merge {shlex.quote(path)} "
        f"--vault {shlex.quote(str(vault))}"
    )


@dataclass
class Watcher:
    """Told of each modified file the commit summary diffs; collects the wipes."""

    vault: Path
    share: float  # forget_alert
    previous: str | None  # HEAD before this sync
    found: list[Forgotten] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # memories now, where known cheaply

    def __call__(self, c: Change, before: bytes) -> None:
        try:
            self._look(c, before)
        except _ODD_SHAPES:
            pass  # valid JSON nested 600 deep, or a shape the counting does not expect

    def _look(self, c: Change, before: bytes) -> None:
        checked = c.checked
        if checked is not None and checked.doc is not None and mergeable(checked.schema):
            self.counts[c.vault_path] = count(checked.doc, checked.schema)
        if checked is None or not self.previous or (c.stat and c.stat[0] >= len(before)):
            return  # grew or kept its size: nothing was wiped
        counts = _counts(c, before)
        if counts is not None:
            self.counts[c.vault_path] = counts[1]
            self._judge(c.vault_path, *counts)

    def vanished(self, gv: GitVault, p: Plan) -> None:
        """Memory files whose memories left without a diff to see it: deleted ones, and
        emptied ones that validation refused (the vault keeps their memories, the
        agent's file has none). HEAD's version is read only for these."""
        gone = [c.vault_path for c in p.changes if c.kind == "deleted"]
        gone = gone if len(gone) <= MAX_DELETED_READ else []
        gone += [vp for vp, data in p.new_rejections.items() if not data.strip()]
        gone = [vp for vp in gone if vp.endswith((".json", ".jsonl"))]
        if not gone or not self.previous:
            return
        from vaultsync import schemas

        for vp, old in gv.read_blobs(self.previous, gone).items():
            prior = schemas.check(old, vp, "auto")
            if prior.problem is None and mergeable(prior.schema):
                try:
                    self._judge(vp, count(prior.doc, prior.schema), 0)
                except _ODD_SHAPES:
                    pass

    def _judge(self, vp: str, before: int, after: int) -> None:
        lost = before - after
        if lost >= MIN_FORGOTTEN and lost > self.share * before:
            assert self.previous is not None
            cmd = restore_command(self.vault, self.previous, vp)
            self.found.append(Forgotten(vp, before, after, self.previous, cmd))


def count(doc: Any, schema: str) -> int:
    """Memories in a document: MCP entities, else records (relations are links, not memories)."""
    found = parts(doc, schema)
    if found is None:
        return 0
    return len(found["entity"]) if schema == GRAPH_SCHEMA else len(found["memory"])


def _counts(c: Change, before: bytes) -> tuple[int, int] | None:
    """(memories before, after), or None when the file holds none with identity."""
    from vaultsync import schemas

    assert c.checked is not None
    schema = c.checked.schema
    if c.checked.doc is None and c.data is not None and schema == GRAPH_SCHEMA:
        return _graph_lines(before, c.data)
    if c.checked.doc is None:
        return None
    if mergeable(schema):
        # HEAD's version was valid when it was committed: parsed, not validated again.
        lines = before.splitlines() if c.checked.lines else None
        prior_doc = [json.loads(x) for x in lines if x.strip()] if lines else json.loads(before)
        return count(prior_doc, schema), count(c.checked.doc, schema)
    # An emptied file is detected as plain JSON / JSON Lines: what it was is what counts.
    prior = schemas.check(before, c.vault_path, "auto")
    if prior.problem is not None or not mergeable(prior.schema):
        return None
    return count(prior.doc, prior.schema), count(c.checked.doc, prior.schema)


def _graph_lines(before: bytes, after: bytes) -> tuple[int, int] | None:
    """An MCP graph in JSON Lines, from the lines that differ: the whole of HEAD's
    version is parsed only when at least MIN_FORGOTTEN entities went."""
    if before.count(b'"entity"') - after.count(b'"entity"') < MIN_FORGOTTEN:
        # Every entity line says "entity" (as its type): with fewer of those gone, fewer
        # than MIN_FORGOTTEN entities can be, and a byte count is 100 times cheaper than
        # the line sets (which the commit summary has just built once already).
        return None
    old_lines, new_lines = before.splitlines(), after.splitlines()
    old_set, new_set = set(old_lines), set(new_lines)
    gone = _names(x for x in old_lines if x not in new_set)
    came = _names(x for x in new_lines if x not in old_set)
    lost = len(gone - came)
    if lost < MIN_FORGOTTEN:
        return None
    total = len(_names(old_lines))
    return total, total - lost + len(came - gone)


def _names(lines: Any) -> set[Any]:
    names = set()
    for line in lines:
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("type") == "entity":
            names.add(json.dumps(item.get("name")))
    return names
