"""A JSON Lines file that grew by appends (an agent's transcript): checked, scanned and
summarised by its new lines only, so a sync costs what was appended, not the whole file.

The old part is trusted only when it is provably what was committed: its length is the
committed size, its git blob id (hashed from the bytes just read, never re-read) is the
committed blob, and it ends at a line break, so no old line was extended. Its schema is
the one the whole committed version was checked against; a file whose schema is "auto"
and was never recorded is checked whole once, as before."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vaultsync.reader import blob_id

if TYPE_CHECKING:
    from vaultsync import schemas

# Smaller files are checked whole: the saving is not worth a state entry.
APPEND_MIN_BYTES = 64 << 10
_LINE = re.compile(r"\Aline (\d+)")


@dataclass(frozen=True)
class Growth:
    """`data[offset:]` is new; `schema` is what the committed version was checked against."""

    offset: int
    schema: str
    data: bytes = dataclasses.field(repr=False, compare=False)

    @property
    def lines_before(self) -> int:
        """Lines before the new part: counted only to name a problem's line (counting
        30 MB of old lines costs ~10 ms a sync)."""
        return self.data.count(b"\n", 0, self.offset)


def is_lines(vault_path: str, schema: str) -> bool:
    return vault_path.endswith((".jsonl", ".ndjson")) or schema == "jsonl"


def growth(
    data: bytes,
    vault_path: str,
    old_size: int,
    old_blob: str,
    schema: str | None,
    prefix_blob: str | None = None,
) -> Growth | None:
    """How `data` extends the committed version, or None when it does not (or cannot be
    proved to): then the file is checked whole. `prefix_blob`: the blob id of
    data[:old_size] if the reader hashed it already (from the same bytes)."""
    if schema is None or not is_lines(vault_path, schema) or schema == "none":
        return None
    if old_size <= 0 or len(data) <= old_size or data[old_size - 1 : old_size] != b"\n":
        return None
    if prefix_blob is None:
        prefix_blob = blob_id(memoryview(data)[:old_size])
    if prefix_blob != old_blob:
        return None
    return Growth(old_size, schema, data)


def check_new_lines(
    data: bytes, vault_path: str, g: Growth, auto: bool, vault_root: Path | None
) -> schemas.Checked | None:
    """The new lines checked against the whole file's schema; a problem names its line
    in the whole file. None when "auto" would now pick another schema for the whole file
    (a first graph line appended to plain JSON Lines): then it is checked whole."""
    from vaultsync import schemas
    from vaultsync.memories import GRAPH_SCHEMA

    new = data[g.offset :]
    checked = None
    if auto:
        checked = schemas.check(new, vault_path, "auto", vault_root=vault_root)
        if checked.schema != g.schema and checked.schema == GRAPH_SCHEMA:
            return None
    if checked is None or checked.schema != g.schema:
        checked = schemas.check(new, vault_path, g.schema, vault_root=vault_root)
    p = checked.problem
    if p is not None and (m := _LINE.match(p.where)):
        where = f"line {int(m.group(1)) + g.lines_before}{p.where[m.end() :]}"
        checked = dataclasses.replace(checked, problem=dataclasses.replace(p, where=where))
    return checked


def summary(checked: schemas.Checked) -> str:
    """What the appended lines add: memories for a graph, else a count of lines."""
    from vaultsync.memories import GRAPH_SCHEMA

    values = checked.doc or []
    if checked.schema == GRAPH_SCHEMA:
        from vaultsync import semdiff  # not imported for a transcript's lines (~5 ms)

        return semdiff.diff_docs([], values, checked.schema).summary()
    return f"+{len(values)} line{'s' if len(values) != 1 else ''} appended"


def extend_copy(path: str, data: bytes, prefix: int) -> bool:
    """Bring the vault's work-tree copy from HEAD's version to `data` by writing only the
    appended bytes, when the copy provably holds `data[:prefix]` (compared byte for byte:
    a 30 MB compare through mmap takes ~2 ms, rewriting the file ~100 ms). False: the
    caller replaces the file whole. Not atomic, as a rename would be: a reader may see a
    part of the new lines, as it would in the transcript itself; a failed commit puts
    HEAD's version back (Committer.abort), and a copy left torn by a crash differs from
    HEAD's version, so the next sync replaces it whole."""
    import mmap
    import os
    import stat

    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != prefix or st.st_nlink != 1:
            return False
        with mmap.mmap(fd, prefix, prot=mmap.PROT_READ) as old:
            if not data.startswith(old):
                return False
        view = memoryview(data)[prefix:]
        at = prefix
        while view:
            n = os.pwrite(fd, view, at)
            view, at = view[n:], at + n
        return True
    finally:
        os.close(fd)
