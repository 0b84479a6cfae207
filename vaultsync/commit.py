"""Writing a sync: the vault work tree copy of each accepted file and its blob, streamed
to `git fast-import` while the next file is still being read (git works on the other
core meanwhile), then one commit, the index for exactly those paths, and the rejected ref."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from vaultsync import __version__
from vaultsync.appended import extend_copy
from vaultsync.errors import from_os_error
from vaultsync.fastimport import file_command
from vaultsync.fsutil import create_file, replace_file
from vaultsync.gitvault import REJECTED_REF, CommitWriter, GitVault, Ident, iso_z
from vaultsync.plan import Change, Plan, by_lines

if TYPE_CHECKING:
    from vaultsync.smallcommit import TreeCache

SUMMARY_MAX_FILES = 1000  # a commit body summarises at most this many modified files
DELTA_MIN_BYTES = 1 << 20  # a new version of a file this big is packed as a delta
# Above this, git would not delta the blob anyway (core.bigFileThreshold, 512 MiB) and
# a repack would only copy it again: a 545 MB export keeps its own pack.
DELTA_MAX_BYTES = 256 << 20
DELTA_WINDOW = 3

Watch = Callable[[Change, bytes], None]  # (a modified file, HEAD's version of it)


class Committer:
    """The sink of a plan: takes each accepted file as soon as it is decided."""

    def __init__(self, vault: Path, gv: GitVault, head: str | None = None) -> None:
        self.vault, self.gv = vault, gv
        self._ahead: TreeCache | None = None  # HEAD's trees, read while the plan runs
        if head is not None:
            from vaultsync.smallcommit import TreeCache

            self._ahead = TreeCache(gv, head)
        self._writer: CommitWriter | None = None
        # The commit's `M` lines, made as each file is written: a 100,000-file import
        # keeps ~5 MB of them, not a dict of paths and marks and a list of lines.
        self._commands = bytearray()
        self._folders: set[str] = set()
        self._copied: list[str] = []  # work-tree copies to take back if the commit fails
        self.bytes_in = 0  # what the commit needs on disk, roughly (a full-disk message)
        self._big_version = False  # a new version of a big file: pack it as a delta
        self._stored: dict[str, str] = {}  # appended files already stored as deltas: blob ids
        self.watch: Watch | None = None  # told of each diffed file (the forgetting alarm)
        self._sent = False  # `send` handed git a commit on HEAD's branch
        self._staged: list[str] = []  # the paths the vault's index takes once committed
        # Files held for an in-process commit (vault path, blob id, bytes or None when
        # stored already), and the commit it wrote.
        self._small: list[tuple[str, str, bytes | None]] = []
        self._small_bytes = 0
        self._commit: str | None = None

    def __call__(self, c: Change) -> None:
        assert c.data is not None
        self.bytes_in += len(c.data)
        self._copied.append(c.vault_path)
        big = c.kind == "modified" and DELTA_MIN_BYTES <= len(c.data) <= DELTA_MAX_BYTES
        target = os.path.join(self.vault, c.vault_path)
        try:
            extended = bool(c.prefix) and extend_copy(target, c.data, c.prefix)
            as_delta = big and bool(c.prefix) and self._as_delta(c)
        except OSError as exc:  # a full, read-only or failing disk, said in words
            raise from_os_error(exc, self.vault) from None
        if not extended:
            self._copy_in(c.vault_path, c.data, c.kind == "added")
        if as_delta:
            assert c.blob is not None
            self._stored[c.vault_path] = c.blob
            self._held(c.vault_path, c.blob, None)
        else:
            self._big_version |= big
            self._held(c.vault_path, c.blob, c.data)
        if c.checked is None or not by_lines(c.checked):
            c.data = None  # streamed: a 100,000-file import never holds them all

    def _held(self, vp: str, blob: str | None, data: bytes | None) -> None:
        """A file for the commit: held here while the commit may still be small enough
        to write in-process (smallcommit), else streamed to fast-import at once."""
        from vaultsync import smallcommit

        if self._writer is None and blob is not None:
            self._small_bytes += len(data or b"")
            self._small.append((vp, blob, data))
            if self._ahead is not None and "/" in vp:
                self._ahead.want(vp.partition("/")[0])
            if (
                len(self._small) <= smallcommit.SMALL_FILES
                and self._small_bytes <= smallcommit.SMALL_BYTES
            ):
                return
            self._spill()
            return
        self._spill()
        self._stream(vp, blob, data)

    def _spill(self) -> None:
        """Hand what is held to fast-import: the commit is too big for smallcommit."""
        held, self._small, self._small_bytes = self._small, [], 0
        self._ahead = None  # fast-import writes the trees
        for vp, blob, data in held:
            self._stream(vp, blob, data)

    def _stream(self, vp: str, blob: str | None, data: bytes | None) -> None:
        """One file to fast-import: its bytes as a blob, or the id of one stored already."""
        ref = self.writer.blob(data) if data is not None else blob
        assert ref is not None  # stored already (no bytes held) means a known blob id
        self._commands += file_command(vp, ref)

    def _write_small(self, p: Plan, message: str, when: datetime, ident: Ident) -> bool:
        """The commit written in-process, if smallcommit takes it (see there)."""
        from vaultsync import smallcommit

        if self._writer is not None or p.head is None or p.new_rejections:
            return False
        changes: dict[str, smallcommit.Change] = {
            c.vault_path: None for c in p.changes if c.kind == "deleted"
        }
        for vp, blob, data in self._small:
            changes[vp] = (bytes.fromhex(blob), data)
        if not changes:
            return False
        try:
            self._commit = smallcommit.commit(
                self.gv,
                self.gv.head_ref(),
                p.head,
                changes,
                message,
                when,
                ident,
                self._stage,
                self._ahead,
            )
        except smallcommit.Declined:
            return False
        self._small, self._small_bytes = [], 0
        self._copied = []  # committed: the copies are HEAD's now
        return True

    def _as_delta(self, c: Change) -> bool:
        """An append to a big file, stored as a delta of HEAD's version (packwrite)."""
        from vaultsync import packwrite

        assert c.data is not None
        if c.blob is None or c.old_blob is None:
            return False
        return packwrite.store_append(self.gv, c.old_blob, c.prefix, c.data, c.blob)

    @property
    def writer(self) -> CommitWriter:
        if self._writer is None:
            self._writer = self.gv.writer()
        return self._writer

    def _copy_in(self, vp: str, data: bytes, new: bool) -> None:
        # Not fsynced: git's objects are the durable copy; the work tree is for browsing.
        folder, _, _ = vp.rpartition("/")
        if folder and folder not in self._folders:
            os.makedirs(os.path.join(self.vault, folder), exist_ok=True)
            self._folders.add(folder)
        path = os.path.join(self.vault, vp)
        if not (new and create_file(path, data)):
            replace_file(path, data)

    def finish(self, p: Plan, host: str, when: datetime, subject: str | None = None) -> str | None:
        """Deletions, the commit, the rejected ref; returns the new HEAD (None: no commit)."""
        self.send(p, host, when, subject)
        return self.complete()

    def send(self, p: Plan, host: str, when: datetime, subject: str | None = None) -> bool:
        """Everything of the commit handed to git, which writes it from here on while the
        caller does other work (the state), until `complete`. Returns whether a commit on
        HEAD's branch is under way."""
        self._sent = False
        if not p.changes and not p.new_rejections:
            self.abort()
            return False
        ident = Ident.for_host(host)
        summaries = summarize(self.gv, p.head, p.changes, self.watch)
        message = commit_message(p, when, host, subject, summaries)
        # Deleted first, as the plan lists them (a folder that took a deleted file's name).
        files: list[tuple[str, str | None]] = []
        for c in p.changes:
            if c.kind == "deleted":
                self._delete(c.vault_path)
                files.append((c.vault_path, None))
        self._staged = [c.vault_path for c in p.changes if c.vault_path not in self._stored]
        if self._write_small(p, message, when, ident):
            self._sent = True
            return True
        self._spill()
        w = self.writer
        self._sent = bool(files or self._commands)
        if self._sent:
            w.commit(self.gv.head_ref(), p.head, message, when, ident, files, (), self._commands)
        self._commands = bytearray()
        parent = self.gv.resolve(REJECTED_REF) if p.new_rejections else None
        for vp, data in sorted(p.new_rejections.items()):
            msg = rejection_message(vp, p.rejected[vp].reason, host)
            w.commit(REJECTED_REF, parent, msg, when, ident, [(vp, w.blob(data))])
            parent = None  # later commits in one fast-import session continue the ref
        w.send()
        return self._sent

    def complete(self) -> str | None:
        """Wait for git to write what `send` gave it; returns the new HEAD (None: no
        commit on HEAD's branch)."""
        commit, self._commit = self._commit, None
        if commit is None:
            if self._writer is None:
                return None
            self._writer.wait()
            self._writer = None
            self._copied = []  # committed: the copies are HEAD's now
            if not self._sent:
                return None
            self._stage()
        if self._big_version:
            pack_versions(self.gv)
        else:
            self.gv.pack_if_needed()
        return commit or self.gv.head()

    def _stage(self) -> None:
        """The vault's index takes the committed paths."""
        stage_blobs(self.gv, self._stored)
        self.gv.stage(self._staged)
        self._stored, self._staged = {}, []

    def abort(self) -> None:
        """Nothing of a failed commit stays: git's temporary files, and the work-tree
        copies (put back as HEAD has them), so the next run starts as this one did."""
        self._stored = {}
        self._commands = bytearray()
        self._small, self._small_bytes, self._commit = [], 0, None
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
        if self._copied:
            self.gv.restore_work_tree(self._copied)
            self._copied = []

    def _delete(self, vp: str) -> None:
        target = self.vault / vp
        try:
            target.unlink(missing_ok=True)
        except (NotADirectoryError, IsADirectoryError):
            # A FIFO or a file where a folder of the path was, or a folder where the file
            # was: no copy of it to remove. The commit records the deletion all the same;
            # what took its place in the work tree is not ours to remove.
            return
        folder = target.parent
        while folder != self.vault:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent


def stage_blobs(gv: GitVault, blobs: dict[str, str]) -> None:
    """Index entries for files whose blob id is known (hashed from the bytes that were
    validated): git does not hash the 30 MB work-tree copy again. Their stat fields stay
    empty, so the next `git status` compares that file once and refreshes them."""
    if blobs:
        gv.clear_stale_lock(gv.git_dir / "index.lock")
        rows = (f"100644 {blob}\t{vp}\0" for vp, blob in sorted(blobs.items()))
        data = "".join(rows).encode("utf-8", "surrogateescape")
        gv.run("update-index", "-z", "--index-info", input=data)


def pack_versions(gv: GitVault) -> None:
    """fast-import stores each version of a big file whole (it deltas only within its own
    pack): a 30 MB transcript synced every 15 minutes would grow the vault by its size
    each time. A geometric repack folds the recent small packs, whose versions of that
    file become deltas of each other; the big packs of older history stay as they are, so
    no sync pays for a full repack. A window of 3 suffices (each version's best base is
    the one before it) and keeps the fold that merges several versions short."""
    gv.run("repack", "-d", "-q", "--geometric=2", f"--window={DELTA_WINDOW}")


def commit_plan(
    vault: Path, gv: GitVault, p: Plan, host: str, when: datetime, subject: str | None = None
) -> str | None:
    """Commit a plan made without a sink (restore's pre-restore snapshot)."""
    committer = Committer(vault, gv)
    try:
        for c in p.changes:
            if c.kind != "deleted":
                committer(c)
        return committer.finish(p, host, when, subject)
    except BaseException:
        committer.abort()
        raise


def commit_message(
    p: Plan,
    when: datetime,
    host: str,
    subject: str | None = None,
    summaries: dict[str, str] | None = None,
) -> str:
    added, modified, deleted = (p.of_kind(k) for k in ("added", "modified", "deleted"))
    counts = f"+{len(added)} ~{len(modified)} -{len(deleted)}"
    subject = f"vaultsync: {subject or iso_z(when)} {counts}"
    said = summaries or {}
    body = [
        f"{printable(c.vault_path)}: {said.get(c.vault_path, c.kind)}"
        for c in sorted(p.changes, key=lambda c: c.vault_path)
    ]
    trailers = f"Vaultsync-Host: {host}\nVaultsync-Version: {__version__}"
    return f"{subject}\n\n" + "\n".join(body) + f"\n\n{trailers}\n"


def summarize(
    gv: GitVault, head: str | None, changes: list[Change], watch: Watch | None = None
) -> dict[str, str]:
    """'+3 entities, 1 entity changed' per modified file, diffed against HEAD's version.
    Files over SUMMARY_MAX_BYTES say only "modified": parsing the old version of a
    600 MB export as well would double the memory a sync needs."""
    known = {c.vault_path: c.summary for c in changes if c.summary is not None}
    wanted = [
        c
        for c in changes
        if c.checked is not None and c.checked.problem is None and c.old_blob is not None
    ]
    if not head or not wanted or len(wanted) > SUMMARY_MAX_FILES:
        return known

    old = gv.read_objects([c.old_blob or "" for c in wanted], [c.vault_path for c in wanted])
    out = known
    for c in wanted:
        assert c.checked is not None
        before = old.get(c.vault_path)
        if before is not None:
            try:
                summary = _summarize(c, before)
            except (RecursionError, ValueError, TypeError, KeyError, AttributeError):
                # A summary is a courtesy: valid JSON nested 600 deep, or a shape the
                # differ does not expect, says "modified" rather than failing the sync.
                summary = None
            if summary is not None:
                out[c.vault_path] = summary
            if watch is not None:
                watch(c, before)
        c.checked, c.data = None, None  # not needed past this point
    return out


def _summarize(c: Change, before: bytes) -> str | None:
    from vaultsync import schemas, semdiff

    assert c.checked is not None
    if by_lines(c.checked) and c.data is not None:
        try:
            return _summarize_lines(before, c.data, c.checked.schema)
        except ValueError:
            pass  # HEAD's version was not JSON Lines (a legacy memory.json): diff it whole
    prior = schemas.check(before, c.vault_path, c.checked.schema)
    new = (
        c.checked
        if c.checked.doc is not None or c.data is None
        else (schemas.check(c.data, c.vault_path, c.checked.schema))
    )
    if prior.problem is not None or new.problem is not None:
        return None
    return semdiff.diff_docs(prior.doc, new.doc, c.checked.schema).summary()


def _summarize_lines(before: bytes, after: bytes, schema: str) -> str:
    """Diff only the lines that differ: a memory added to a 150,000-line graph parses two
    lines, not 300,000 (the unchanged memories are the unchanged lines)."""
    import json

    from vaultsync import semdiff

    old_lines, new_lines = before.splitlines(), after.splitlines()
    old_set, new_set = set(old_lines), set(new_lines)
    gone = [json.loads(x) for x in old_lines if x not in new_set and x.strip()]
    came = [json.loads(x) for x in new_lines if x not in old_set and x.strip()]
    return semdiff.diff_docs(gone, came, schema).summary()


def printable(vp: str) -> str:
    """A vault path as text for a message: a name that is not UTF-8 (held as surrogates)
    shows its bytes as \\xNN, a newline as \\n, so git gets valid UTF-8, one line each."""
    raw = vp.encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "backslashreplace").replace("\n", "\\n")


def rejection_message(vp: str, reason: str, host: str) -> str:
    return f"vaultsync: rejected {printable(vp)}\n\n{reason}\n\nVaultsync-Host: {host}\n"
