"""A git index per folder source under `.vaultsync/index/`, so that git's C code does
the 100,000 stat comparisons of a no-change scan (`git ls-files -m` with
GIT_INDEX_FILE and the source as work tree), racy timestamps included.

The index only ever holds, for a path, the blob id that was committed for it: entries
are written with `update-index --index-info` (blob id, no stat), and `update-index
--refresh` records a stat only where git hashes the file on disk to exactly that blob.
So a file that changed after its commit can never look clean, whatever happened
between the read and the refresh; an entry not yet refreshed is compared by content.
A big file this sync read and hashed itself (an appended transcript) takes the stat of
that read instead, written into the index by indexfile.py, not hashed again by git.
A small source's index is a whole file (`core.splitIndex=false`; the vault's own index
sets it to true): a split index keeps its entries in another file, which indexfile
declines. A big source's stays split: a whole 100,000-entry index (8.8 MB) cost git
~70-100 ms to write at every sync, against ~25 ms split, and a pass over it in Python
costs more than the refresh it would save.

New, renamed and removed files are not git's part: they change their folder's mtime,
and scan.py lists exactly the folders whose stat moved (git's `ls-files -o` would not
see a FIFO, follow a symlink inside the source, or enter a nested repository, as the
walk must). `.last_sync` names each index with its checksum (`indexes`); an index that
is missing, damaged, of another git version or out of step is rebuilt, never trusted."""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vaultsync import indexfile
    from vaultsync.gitrun import Started
    from vaultsync.state import State

INDEX_DIR = Path(".vaultsync") / "index"
ZERO_OID = "0" * 40
REFRESH_AFTER = 1000  # entries written without a stat before a refresh pays for itself
REFRESH_BYTES = 16 << 20  # or this many bytes git would hash at every scan meanwhile
# A small source's index is one file (a split one is read, then written whole).
# Entries handed to a git started in the background at most (a pipe's buffer: more
# would block until git reads, and git's own output is not read until it ends).
PIPE_BYTES = 60 << 10
NO_SPLIT = ["-c", "core.splitIndex=false"]


def index_path(vault: Path, source: str) -> Path:
    return vault / INDEX_DIR / source


def checksum(path: Path) -> str | None:
    """The trailing SHA-1 of an index file (None: not a regular file, or unreadable)."""
    from vaultsync.fsutil import read_regular

    tail = read_regular(path, tail=20)
    return tail.hex() if tail is not None and len(tail) == 20 else None


def usable(vault: Path, st: State, source: str) -> bool:
    """Whether the index on disk is the one `.last_sync` names."""
    recorded = st.indexes.get(source)
    return recorded is not None and checksum(index_path(vault, source)) == recorded


def _cmd(
    vault: Path, source: str, root: str, args: list[str], whole: bool = False
) -> tuple[list[str], dict[str, str]]:
    """`whole`: the index is written as one file (a small source: see the module doc)."""
    env = {"GIT_INDEX_FILE": str(index_path(vault, source))}
    git = [f"--git-dir={vault / '.git'}", f"--work-tree={root}", *(NO_SPLIT if whole else [])]
    return [*git, *args], env


def _git(
    vault: Path,
    source: str,
    root: str,
    args: list[str],
    stdin: bytes | None = None,
    whole: bool = False,
) -> tuple[int, bytes, bytes]:
    from vaultsync import gitrun

    cmd, env = _cmd(vault, source, root, args, whole)
    try:
        proc = gitrun.run(cmd, vault, input=stdin, env=env, check=False, timeout=600)
    except Exception:  # a git that hangs or is missing: the walk is always there
        return 1, b"", b""
    return proc.returncode, proc.stdout, proc.stderr


_MODIFIED = ["ls-files", "-z", "-m"]
# Started by prefetch: per source, the root and index checksum it was started with.
_early: dict[str, tuple[str, str, Started]] = {}


def prefetch(argv: Sequence[str]) -> None:
    """Start git's pass over each source's index before a sync has imported its code:
    on 100,000 files it is most of a no-change sync, and now runs while Python starts.
    Only a hint: its answer is used only if the index git read is the one the state
    read under the lock names (`modified`); else it is run again."""
    if "--full" in argv:
        return  # hashes everything: no use for git's answer
    try:
        from vaultsync import gitrun
        from vaultsync.fsutil import read_regular

        given = [a.partition("=")[2] for a in argv if a.startswith("--vault=")]
        given += [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--vault"]
        if given or os.environ.get("VAULTSYNC_VAULT"):
            vault = Path(
                os.path.abspath(
                    os.path.expanduser(given[-1] if given else os.environ["VAULTSYNC_VAULT"])
                )
            )
        else:
            from vaultsync.outcome import vault_path

            vault = vault_path(None)
        data = read_regular(vault / ".last_sync")
        doc = json.loads(data) if data else {}
        roots, indexes = doc.get("index_roots", {}), doc.get("indexes", {})
        for source, root in roots.items():
            sha = checksum(index_path(vault, source))
            if not (isinstance(root, str) and sha is not None and indexes.get(source) == sha):
                continue
            cmd, env = _cmd(vault, source, root, _MODIFIED)
            started = gitrun.start(cmd, vault, env)
            if started is not None:
                _early[source] = (root, sha, started)
    except Exception:  # a hint only: the sync itself says what is wrong
        return
    if _early:
        atexit.register(_cancel_early)


def _cancel_early() -> None:
    while _early:
        _early.popitem()[1][2].cancel()


def still_running(source: str) -> bool:
    """Whether the pass prefetch started for `source` has not answered yet."""
    early = _early.get(source)
    return early is not None and early[2].proc.poll() is None


def _early_answer(
    vault: Path, source: str, root: str, expected: str | None
) -> tuple[int, bytes, bytes] | None:
    """The prefetched answer, if git read the index the state names (before and after)."""
    early = _early.pop(source, None)
    if early is None:
        return None
    started_root, sha, started = early
    answer = started.collect(600)
    if started_root != root or sha != expected or checksum(index_path(vault, source)) != sha:
        return None
    return answer


def modified(vault: Path, source: str, root: str, expected: str | None = None) -> set[str] | None:
    """Paths (relative to the source) whose content may differ from the committed blob,
    or that are gone; None when git could not answer (then the source is walked).
    `expected`: the index checksum the state names (a prefetched answer must match)."""
    answer = _early_answer(vault, source, root, expected)
    rc, out, err = answer if answer is not None else _git(vault, source, root, _MODIFIED)
    if rc != 0 or err.strip():
        return None
    return {p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p}


def update(vault: Path, st: State) -> None:
    """Bring each scanned folder source's index in line with the state, before the state
    that names it is saved. Never fails a sync: an index that cannot be written is
    dropped from the state, and the next scan walks that source."""
    start_update(vault, st)()()


def start_update(vault: Path, st: State) -> Callable[[], Callable[[], None]]:
    """`update` in three steps, each source's git processes side by side: git starts on
    every source's index now; the returned call waits for the entries and starts the
    refreshes that are due; the call that one returns waits for those and records each
    index's checksum. Between them the caller does other work (the detail files, the
    vault's own index); the state's entries are not to change."""
    writes: list[_Write] = []
    for source in sorted(set(st.roots) | set(st.indexes)):
        prefix = source + "/"
        touched = sorted(vp for vp in st.touched if vp.startswith(prefix))
        root = st.roots.get(source)
        if root is None or source not in st.files:
            if touched or root is not None:
                _drop(vault, st, source)
            continue
        rebuild = not usable(vault, st, source)
        if not rebuild and not touched:
            continue
        w = _Write(vault, st, source, root)
        try:
            w.start(touched, rebuild)
        except OSError:
            w.ok = False
        writes.append(w)

    def refreshing() -> Callable[[], None]:
        settled: list[_Write] = []
        for w in writes:
            try:
                ok = w.ok and w.settle()
            except OSError:
                ok = False
            if ok:
                settled.append(w)
            else:
                _drop(vault, st, source=w.source)

        def sealed() -> None:
            for w in settled:
                try:
                    ok = w.seal()
                except OSError:
                    ok = False
                if not ok:
                    _drop(vault, st, source=w.source)

        return sealed

    return refreshing


class _Write:
    """One source's index brought up to date: `start` hands git the new entries (or
    writes them itself, for a small index), `settle` waits and starts the refresh when
    due, `seal` waits for it and records the checksum."""

    def __init__(self, vault: Path, st: State, source: str, root: str) -> None:
        self.vault, self.st, self.source, self.root = vault, st, source, root
        self.path = index_path(vault, source)
        self.ok = True
        self.whole = whole_file(st, source)
        self._proc: Started | None = None
        self._done: set[bytes] | None = None
        self._hashed: dict[bytes, indexfile.Wanted] = {}
        self._answer: tuple[int, bytes, bytes] = (1, b"", b"")
        self._refresh: Started | None = None

    def start(self, touched: list[str], rebuild: bool) -> None:
        st, source = self.st, self.source
        self.path.parent.mkdir(parents=True, exist_ok=True)
        blobs: dict[bytes, str] | None = None
        if rebuild:
            _remove(self.path)
            st.unrefreshed[source] = 0
            lines, self.size = _every_entry(st, source)
        else:
            lines, self.size, blobs, self._hashed = _entries(st, source, touched)
        self.rebuild = rebuild
        self.pending = st.unrefreshed.get(source, 0) + (0 if rebuild else len(touched))
        # New blobs for paths already in a small index: written here, no git process.
        if blobs and self.whole:
            self._done = _set_blobs(self.path, self.root, blobs, self._hashed)
        if self._done is None:
            args = ["update-index", "-z", "--index-info"]
            if len(lines) <= PIPE_BYTES:
                self._proc = _start_git(self.vault, source, self.root, args, lines, self.whole)
            if self._proc is None:  # too much to hand over at once, or no git yet: now
                self._answer = _git(self.vault, source, self.root, args, lines, self.whole)

    def settle(self) -> bool:
        """The entries written; the refresh started if it is due."""
        source = self.source
        done = self._done
        if done is None:
            rc, _, _ = self._proc.collect(600) if self._proc is not None else self._answer
            if rc != 0:
                return False
            done = set()
            hashed = self._hashed
            if hashed and (self.pending >= REFRESH_AFTER or self.size >= REFRESH_BYTES):
                # The refresh is due: what this sync hashed itself takes its read's stat,
                # and git hashes only the rest (if that is still worth a refresh).
                done = _record_stats(self.path, self.root, hashed)
        pending = self.pending - len(done)
        size = self.size - sum(self._hashed[rel].key[0] for rel in done if rel in self._hashed)
        if self.rebuild or pending >= REFRESH_AFTER or size >= REFRESH_BYTES:
            # Records a stat only where the file hashes to the committed blob (see above).
            args = ["update-index", "-q", "--ignore-missing", "--refresh"]
            self._refresh = _start_git(self.vault, source, self.root, args, None, self.whole)
            if self._refresh is None:
                _git(self.vault, source, self.root, args, whole=self.whole)
            pending = 0
        self.pending = pending
        return True

    def seal(self) -> bool:
        """The refresh done, and the index's checksum recorded for `.last_sync`."""
        if self._refresh is not None:
            self._refresh.collect(600)  # as before: a failed refresh leaves stats unset
        self.st.unrefreshed[self.source] = self.pending
        sha = checksum(self.path)
        if sha is None:
            return False
        self.st.indexes[self.source] = sha
        return True


def _start_git(
    vault: Path, source: str, root: str, args: list[str], stdin: bytes | None, whole: bool
) -> Started | None:
    """`git ARGS` on this source's index, started with `stdin` as its input."""
    from vaultsync import gitrun

    cmd, env = _cmd(vault, source, root, args, whole)
    return gitrun.start(cmd, vault, env, input=stdin)


def _entries(
    st: State, source: str, touched: list[str]
) -> tuple[bytes, int, dict[bytes, str] | None, dict[bytes, indexfile.Wanted]]:
    """`--index-info` lines for these vault paths (a path the state lost: removed), the
    bytes git would hash to refresh them, their new blobs (None: a removal, git's to
    write) and those this sync hashed itself (their stat is the read's)."""
    from vaultsync import indexfile

    lines, size = io.BytesIO(), 0
    blobs: dict[bytes, str] | None = {}
    hashed: dict[bytes, indexfile.Wanted] = {}
    for vp in touched:
        entry = st.entry(vp)
        rel = vp[len(source) + 1 :].encode("utf-8", "surrogateescape")
        if entry is None:
            lines.write(b"0 %s\t%s\0" % (ZERO_OID.encode(), rel))
            blobs = None
        else:
            lines.write(b"100644 %s\t%s\0" % (entry.blob.encode(), rel))
            size += entry.size
            if blobs is not None:
                blobs[rel] = entry.blob
            if vp in st.hashed:
                hashed[rel] = indexfile.Wanted(entry.blob, entry.stat)
    return lines.getvalue(), size, blobs, hashed


def _every_entry(st: State, source: str) -> tuple[bytes, int]:
    """`--index-info` lines for every file of a source, from the state's columns: a
    100,000-file import makes no vault path, entry or line object per file (~50 MB),
    and BytesIO hands its buffer over without a copy."""
    from vaultsync.state import BLOB_LEN

    lines, size = io.BytesIO(), 0
    for folder, f in st.files.get(source, {}).items():
        f.columns()
        base = folder.encode("utf-8", "surrogateescape") + b"/" if folder else b""
        blobs, stat = f.blobs.encode(), f.stat
        for i, name in enumerate(f.names):
            rel = base + name.encode("utf-8", "surrogateescape")
            lines.write(b"100644 %s\t%s\0" % (blobs[BLOB_LEN * i : BLOB_LEN * (i + 1)], rel))
            size += stat[4 * i]
    return lines.getvalue(), size


def whole_file(st: State, source: str) -> bool:
    """Whether this source's index is written as one file (core.splitIndex=false): a
    small source's, which indexfile can patch; a big one's stays as the vault's config
    says (split), which git rewrites far faster (see the module doc)."""
    from vaultsync import indexfile

    count = sum(len(f) for f in st.files.get(source, {}).values())
    return count <= indexfile.MAX_ENTRIES_SET


def _record_stats(path: Path, root: str, hashed: dict[bytes, indexfile.Wanted]) -> set[bytes]:
    from vaultsync import indexfile

    try:
        return indexfile.record_stats(path, Path(root), hashed)
    except (indexfile.Declined, OSError):
        return set()  # git's refresh does it, as before


def _set_blobs(
    path: Path, root: str, blobs: dict[bytes, str], hashed: dict[bytes, indexfile.Wanted]
) -> set[bytes] | None:
    """The paths that took a stat, or None: git's update-index is to write them."""
    from vaultsync import indexfile

    try:
        return indexfile.set_blobs(path, Path(root), blobs, hashed)
    except (indexfile.Declined, OSError):
        return None


def _drop(vault: Path, st: State, source: str) -> None:
    st.indexes.pop(source, None)
    st.unrefreshed.pop(source, None)
    _remove(index_path(vault, source))


def _remove(path: Path) -> None:
    """An index, or whatever took its name (a folder is moved aside, not deleted)."""
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            os.replace(path, path.with_name(f"{path.name}.damaged-{os.getpid()}"))
        else:
            path.unlink()
    with contextlib.suppress(FileNotFoundError):
        path.with_name(path.name + ".lock").unlink()
