"""`vaultsync search TEXT`: when a memory containing TEXT appeared, changed or disappeared.

git finds the candidate commits: its pickaxe (`-G`, case-insensitive, on the vault's own
line of history) keeps only the commits whose diff adds or removes a line holding TEXT,
and `--raw` names each such file's old and new blob. Only those file versions are read
(one `cat-file --batch`), parsed and diffed as memories (semdiff), and of the changed
memories only those that hold TEXT are reported. A 10,000-commit history costs one git
walk in C plus the few commits that matter.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vaultsync import config, fielddiff, memories, schemas, semdiff
from vaultsync.commands.log import vault_paths
from vaultsync.config import Config
from vaultsync.errors import EXIT_OK, UsageError
from vaultsync.gitvault import GitVault

_NULL = "0" * 40
_ERE_SPECIAL = set("\\.[]()*+?{}|^$")
_WHAT = {"+": "appeared", "-": "disappeared", "~": "changed"}


@dataclass(frozen=True)
class Candidate:
    commit: str
    parent: str | None
    time: str
    path: str
    old: str | None  # blob ids; None: the file did not exist on that side
    new: str | None


@dataclass(frozen=True)
class Hit:
    commit: str
    time: str
    path: str
    memory: str  # "entity Ada", "memory 7f3c...", 'section "Preferences"', the file
    what: str  # "observation removed from entity Ada", "memory appeared", ...
    text: str
    restore: str  # the command that brings that version back

    def lines(self) -> list[str]:
        text = f": {memories.shorten(self.text, 100)!r}" if self.text else ""
        return [
            f"{self.commit[:10]}  {self.time}  {self.path}: {self.what}{text}",
            f"    {self.restore}",
        ]


def run(
    vault: Path,
    text: str,
    paths: list[str],
    limit: int | None = 20,
    json_out: bool = False,
    quiet: bool = False,
) -> int:
    if not text.strip():
        raise UsageError("search needs some TEXT to look for")
    cfg = config.load(vault)
    gv = GitVault(vault)
    hits = search(cfg, gv, text, vault_paths(cfg, paths), limit)
    if json_out:
        print(json.dumps([asdict(h) for h in hits], indent=2, ensure_ascii=False))
    elif not quiet:
        print("\n".join(line for h in hits for line in h.lines()) or f"no memory holds {text!r}")
    return EXIT_OK


def search(cfg: Config, gv: GitVault, text: str, scope: list[str], limit: int | None) -> list[Hit]:
    """Hits newest first, from at most `limit` commits (None: all)."""
    if gv.head() is None:
        return []
    hits: list[Hit] = []
    commits: set[str] = set()
    by_commit = _candidates(gv, text, scope)
    for group in by_commit:
        if limit is not None and len(commits) >= limit:
            break
        ids = [b for c in group for b in (c.old, c.new) if b]
        blobs = gv.read_objects(ids, ids)
        for cand in group:
            found = list(_hits(cfg, cand, blobs, text.casefold()))
            hits += found
            commits.update(h.commit for h in found)
    return hits


def _candidates(gv: GitVault, text: str, scope: list[str]) -> Iterator[list[Candidate]]:
    """Per commit, newest first: the memory files whose diff adds or removes TEXT."""
    args = ["log", "--first-parent", "-i", f"-G{_ere(text)}", "--raw", "--no-abbrev", "-z"]
    args += ["--no-renames", "--format=%x01%H%x00%P%x00%cI"]
    out = gv.run(*args, "HEAD", "--", *(scope or ["."])).decode("utf-8", "surrogateescape")
    for chunk in out.split("\x01")[1:]:
        commit, parents, rest = chunk.split("\x00", 2)
        time, _, raw = rest.partition("\x00")
        parent = parents.split()[0] if parents.split() else None
        fields = raw.strip("\n\x00").split("\x00")
        group = []
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            parts = meta.split()
            if len(parts) < 5 or "/" not in path:  # vaultsync.toml is no memory
                continue
            old, new = (None if b == _NULL else b for b in parts[2:4])
            group.append(Candidate(commit, parent, time.strip(), path, old, new))
        if group:
            yield group


def _ere(text: str) -> str:
    """TEXT as a POSIX extended regex matching itself (git's -G)."""
    return "".join("\\" + c if c in _ERE_SPECIAL else c for c in text)


def _hits(cfg: Config, cand: Candidate, blobs: dict[str, bytes], needle: str) -> Iterator[Hit]:
    schema = cfg.schema_for(cand.path)
    old = schemas.check(blobs[cand.old], cand.path, schema) if cand.old in blobs else None
    new = schemas.check(blobs[cand.new], cand.path, schema) if cand.new in blobs else None
    if (old and old.problem) or (new and new.problem):
        return  # a hand-made commit of a bad file: nothing to say as memories
    kind = next((c.schema for c in (new, old) if c is not None), schema)
    diff = semdiff.diff_docs(old.doc if old else None, new.doc if new else None, kind)
    for op, memory, what, text in _events(diff, needle):
        yield Hit(cand.commit, cand.time, cand.path, memory, what, text,
                  _restore(cand, op, kind))  # fmt: skip
    if diff.shape == "json" and diff.status in ("created", "deleted"):
        doc = new.doc if new is not None else old.doc if old is not None else None
        if needle in json.dumps(doc, ensure_ascii=False).casefold():
            op = "+" if diff.status == "created" else "-"
            yield Hit(cand.commit, cand.time, cand.path, cand.path, f"file {_WHAT[op]}", "",
                      _restore(cand, op, kind))  # fmt: skip


def _events(diff: semdiff.SemDiff, needle: str) -> Iterator[tuple[str, str, str, str]]:
    """(op, memory, what happened, text) for each changed memory that holds `needle`."""
    for key in diff.keys:
        if _holds(needle, key.path, key.old, key.new):
            yield key.op, key.path, f"{key.path} {_WHAT[key.op]}", _value(key)
    for change in diff.changes:
        yield from _change_events(change, needle)


def _change_events(c: semdiff.Change, needle: str) -> Iterator[tuple[str, str, str, str]]:
    memory = _memory_name(c)
    if c.op == "~" and c.children:
        named = needle in c.name.casefold()
        for child in c.children:
            if named or _holds(needle, child.name):
                where = "to" if child.op == "+" else "from"
                verb = "added" if child.op == "+" else "removed"
                noun = "line" if child.kind == "text" else child.kind
                yield child.op, memory, f"{noun} {verb} {where} {memory}", child.name
        fields = [f for f in c.fields if _holds(needle, f.old, f.new)]
        if fields or (named and c.fields):
            yield "~", memory, f"{memory} changed", ", ".join(f.path for f in c.fields)
        return
    if _holds(needle, c.name, c.detail, [ch.name for ch in c.children], _fields(c)):
        yield c.op, memory, f"{memory} {_WHAT[c.op]}", c.detail or _first_child(c, needle)


def _memory_name(c: semdiff.Change) -> str:
    if c.kind == "section":
        return f'section "{c.name}"' if c.name else "the text before any heading"
    return f"{c.kind} {memories.shorten(c.name, 80)}"


def _first_child(c: semdiff.Change, needle: str) -> str:
    return next((ch.name for ch in c.children if needle in ch.name.casefold()), "")


def _fields(c: semdiff.Change) -> list[Any]:
    return [[f.old, f.new] for f in c.fields if not f.elided]


def _holds(needle: str, *values: Any) -> bool:
    return any(
        needle in (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)).casefold()
        for v in values
        if v is not None
    )


def _value(key: fielddiff.FieldChange) -> str:
    value = key.new if key.op != "-" else key.old
    return value if isinstance(value, str) else json.dumps(fielddiff.redact(value))


def _restore(cand: Candidate, op: str, schema: str) -> str:
    """Gone in this commit: the version just before it; else this commit's version."""
    at = cand.parent if op == "-" and cand.parent else cand.commit
    merge = " --merge" if memories.mergeable(schema) and cand.new and cand.old else ""
    return f"vaultsync restore --at {at[:10]}{merge} {cand.path}"
