"""The vault's git API: reading history, writing commits (through fastimport), the
index, pushes and fetches, locks and settings. Every git process is started by
gitrun, with its allow-listed environment.

The sync's hot path drives git plumbing as child processes: importing GitPython
alone costs ~80 ms, more than a whole no-change sync of a small vault may take.
GitPython (`repo.git`, never its index API, pinned to the vault's GIT_DIR) is left
for cold paths. Every `Repo` is closed: its cat-file helper processes leak otherwise.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaultsync import fsutil, gitrun
from vaultsync.clock import iso_z as iso_z  # re-exported for older imports
from vaultsync.clock import utc_now as utc_now
from vaultsync.errors import LockedError, VaultsyncError
from vaultsync.fastimport import CommitWriter as CommitWriter
from vaultsync.fastimport import Ident as Ident
from vaultsync.gitremote import RemoteOps
from vaultsync.gitrun import git_env as git_env

CLONING = "vaultsync.cloning"  # set in a clone until init --from has finished it

if TYPE_CHECKING:
    import git

ZERO_OID = "0" * 40
REJECTED_REF = "refs/vaultsync/rejected"
# Objects, refs and the index reach the disk before a sync reports success
# (by default git fsyncs none of them: a power cut leaves empty object files).
VAULT_SETTINGS = {
    "core.fsync": "committed,index",
    "core.fsyncMethod": "batch",
    # Detached auto-gc can outlive vaultsync and hold git's locks; we pack ourselves.
    "maintenance.auto": "false",
    "gc.autoDetach": "false",
    # A sync touches a few index entries: keep it from rewriting the whole index file.
    "core.splitIndex": "true",
    # zlib level 1: a 14 MB export compresses in 0.23 s instead of 0.84 s (level 6) for
    # 9% more space; a sync of a big file otherwise spends most of its time here.
    "core.compression": "1",
}
PACK_LIMIT = 24
BY_NAME_UP_TO = 50  # read_blobs: up to this many paths, `rev:path` beats one ls-tree


class GitVault(RemoteOps):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.git_dir = root / ".git"

    # -- plumbing -----------------------------------------------------------------------

    def run(self, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
        return gitrun.run(args, self.root, input=input, check=check).stdout

    def returncode(self, *args: str) -> int:
        return gitrun.run(args, self.root, check=False).returncode

    def fsck(self) -> list[str]:
        """What `git fsck` finds wrong (nothing: an empty list)."""
        proc = gitrun.run(["fsck", "--no-progress", "--no-dangling"], self.root, check=False)
        out = (proc.stdout + proc.stderr).decode("utf-8", "replace").splitlines()
        if proc.returncode and not out:
            out = [f"exited {proc.returncode}"]
        return out

    def head(self) -> str | None:
        # Not HEAD^{commit}: peeling parses the commit and costs 30 ms in a 100k vault.
        out = self.run("rev-parse", "-q", "--verify", "HEAD", check=False)
        return out.decode().strip() or None

    def head_ref(self) -> str:
        """The branch HEAD points at (read from the file: no process for the hot path)."""
        text = (self.git_dir / "HEAD").read_text().strip()
        if not text.startswith("ref: "):
            raise VaultsyncError(
                f"the vault's HEAD is detached ({self.root})",
                hint=f"run `git -C {self.root} switch <branch>` to put it back on its branch",
            )
        return text[5:]

    def resolve(self, rev: str) -> str | None:
        out = self.run("rev-parse", "-q", "--verify", f"{rev}^{{commit}}", check=False)
        return out.decode().strip() or None

    def blob_at(self, rev: str | None, path: str) -> str | None:
        if rev is None:
            return None
        out = self.run("rev-parse", "-q", "--verify", f"{rev}:{path}", check=False)
        return out.decode().strip() or None

    def tree_blobs(self, rev: str, under: Sequence[str] = ()) -> dict[str, str]:
        """vault path -> blob id of every file in `rev` (below `under`, if given)."""
        out = self.run("ls-tree", "-r", "-z", "--full-tree", rev, "--", *under)
        blobs = {}
        for rec in out.split(b"\0"):
            if rec:
                meta, _, path = rec.partition(b"\t")
                kind_oid = meta.split(b" ")
                if kind_oid[1] == b"blob":
                    blobs[path.decode("utf-8", "surrogateescape")] = kind_oid[2].decode()
        return blobs

    def changed_between(self, old: str, new: str) -> list[str] | None:
        """Paths that differ between two commits; None if `old` is not in this history."""
        if not self.resolve(old) or self.returncode("merge-base", "--is-ancestor", old, new):
            return None
        out = self.run("diff-tree", "-r", "-z", "--name-only", "--no-renames", old, new)
        return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]

    # -- reading history ------------------------------------------------------------------

    def last_commit_before(self, when: datetime, ref: str = "HEAD") -> str | None:
        # "@N +0000", not N: git reads a bare number under 100000000 (before 1973-03-03)
        # as something other than seconds since 1970.
        stamp = f"@{int(when.timestamp())} +0000"
        out = self.run("rev-list", "-1", "--first-parent", f"--before={stamp}", ref, check=False)
        return out.decode().strip() or None

    def first_commit_time(self, ref: str = "HEAD") -> str | None:
        out = self.run("rev-list", "--max-parents=0", "--format=%cI", ref, check=False)
        lines = out.decode().split()
        return lines[-1] if len(lines) > 1 else None

    def read_blobs(self, rev: str, paths: Sequence[str]) -> dict[str, bytes]:
        """The content of each path at `rev`, never a walk of history, in one `cat-file
        --batch` process. Few paths are looked up by name; many are first mapped to their
        blob ids with one `ls-tree` (`rev:path` costs ~7 ms each in a 20,000-file folder:
        a whole-vault restore of 50,000 files took minutes). A name with a newline in it
        would end its request line early and shift every answer after it: such paths are
        always read by blob id."""
        if len(paths) <= BY_NAME_UP_TO and not any("\n" in p for p in paths):
            return self.read_objects([f"{rev}:{p}" for p in paths], paths)
        ids = self.tree_blobs(rev)
        found = [p for p in paths if p in ids]
        return self.read_objects([ids[p] for p in found], found)

    def read_objects(self, names: Sequence[str], keys: Sequence[str]) -> dict[str, bytes]:
        """Objects by name (a blob id is fastest: `HEAD:path` resolves the path through
        every tree on the way, 7 ms each in a 20,000-file folder), under `keys`."""
        if not names:
            return {}
        found: dict[str, bytes] = {}
        for key, obj in zip(keys, self.cat_objects(names), strict=True):
            if obj is not None:
                found[key] = obj[2]
        return found

    def cat_objects(self, names: Sequence[str]) -> list[tuple[str, str, bytes] | None]:
        """(id, type, content) of each object named, in order (None: missing), from one
        `cat-file --batch`."""
        request = "".join(f"{n}\n" for n in names).encode("utf-8", "surrogateescape")
        out = self.run("cat-file", "--batch", input=request)
        objects: list[tuple[str, str, bytes] | None] = []
        pos = 0
        for _ in names:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if header[-1] == b"missing":
                objects.append(None)
                continue
            size = int(header[2])
            objects.append((header[0].decode(), header[1].decode(), out[pos : pos + size]))
            pos += size + 1
        return objects

    def log(self, ref: str, paths: Sequence[str], limit: int | None) -> list[dict[str, Any]]:
        """Commits newest first with the files each changed (first-parent line)."""
        args = [
            "log",
            "--first-parent",
            "-z",
            "--no-renames",
            "--name-status",
            "--format=%x01%H%x00%cI%x00%s%x00%b",
        ]
        if limit is not None:
            args.append(f"-n{limit}")
        out = self.run(*args, ref, "--", *paths).decode("utf-8", "surrogateescape")
        return [_log_entry(chunk) for chunk in out.split("\x01") if chunk]

    def writer(self) -> CommitWriter:
        self.clear_commit_locks()
        return CommitWriter(self)

    def clear_commit_locks(self) -> None:
        """Before a commit: a git killed mid-commit leaves its ref's lock too: left there,
        every later commit fails with "cannot lock ref" until someone removes it by hand
        (a live git's lock is left alone: LockedError)."""
        heads = self.git_dir / "refs" / "heads"
        named = [self.git_dir / n for n in ("index.lock", "HEAD.lock", "packed-refs.lock")]
        for lock in [*named, *heads.glob("*.lock")]:
            self.clear_stale_lock(lock)

    def commit_files(
        self, files: Sequence[tuple[str, bytes | None]], message: str, ident: Ident
    ) -> str | None:
        """One commit on HEAD's branch of whole files (None deletes); the index follows."""
        writer = self.writer()
        try:
            marks = [(vp, None if data is None else writer.blob(data)) for vp, data in files]
            writer.commit(self.head_ref(), self.head(), message, utc_now(), ident, marks)
            writer.close()
        except BaseException:
            writer.abort()
            raise
        self.stage([vp for vp, _ in files])
        return self.head()

    def commit_paths(self, names: Sequence[str], what: str, host: str) -> str | None:
        """Commit vault-level files (vaultsync.toml, .gitignore) as they are in the work tree."""
        files = [(n, (self.root / n).read_bytes()) for n in names]
        message = f"vaultsync: {what}\n\nVaultsync-Host: {host}\n"
        return self.commit_files(files, message, Ident.for_host(host))

    def stage(self, paths: Sequence[str]) -> None:
        """Bring the index in line with the work tree for exactly these paths (objects exist
        already, so this hashes a few files and writes no object)."""
        if not paths:
            return
        self.clear_stale_lock(self.git_dir / "index.lock")
        data = b"\0".join(p.encode("utf-8", "surrogateescape") for p in paths) + b"\0"
        # Above core.bigFileThreshold (512 MiB) update-index streams a file through deflate
        # even when its blob exists: 32.6 s for a 545 MB export, 1.2 s with the threshold up.
        self.run(
            "-c",
            "core.bigFileThreshold=4g",
            "update-index",
            "-z",
            "--add",
            "--remove",
            "--stdin",
            input=data,
        )

    def restore_work_tree(self, paths: Sequence[str]) -> None:
        """Best effort after a failed commit: each path as the index (= HEAD) has it, or
        gone when it is not there. Never raises: it runs while another error is raised."""
        with contextlib.suppress(VaultsyncError, OSError):
            listed = self.run("ls-files", "-z").split(b"\0")
            indexed = {p.decode("utf-8", "surrogateescape") for p in listed if p}
            tracked = [p for p in paths if p in indexed]
            if tracked:
                self.run("checkout-index", "-f", "-z", "--stdin", input=data_of(tracked))
            for p in set(paths) - indexed:
                with contextlib.suppress(OSError):
                    (self.root / p).unlink()

    def pack_files(self) -> set[str]:
        try:
            return {e.name for e in os.scandir(self.git_dir / "objects" / "pack")}
        except OSError:
            return set()

    def remove_new_pack_files(self, before: set[str]) -> None:
        """Temporary packs and keep files that appeared since `before` and no live process
        writes: what a failed or killed fast-import leaves behind (a full disk)."""
        pack_dir = self.git_dir / "objects" / "pack"
        for name in self.pack_files() - before:
            if name.startswith(("tmp_pack_", "tmp_idx_", "tmp_rev_")) or name.endswith(".keep"):
                path = pack_dir / name
                if not [p for p in fsutil.pids_holding(path) if p != os.getpid()]:
                    with contextlib.suppress(OSError):
                        path.unlink()

    def pack_if_needed(self) -> None:
        """fast-import writes a pack per sync; fold them geometrically once they pile up,
        so lookups stay fast and no run pays for a full repack."""
        pack_dir = self.git_dir / "objects" / "pack"
        try:
            packs = sum(1 for e in os.scandir(pack_dir) if e.name.endswith(".pack"))
        except FileNotFoundError:
            return
        if packs > PACK_LIMIT or self._has_many_loose():
            self.run("repack", "-d", "-q", "--geometric=2")

    def _has_many_loose(self) -> bool:
        # git's own estimate: one fan-out directory holds ~1/256 of the loose objects.
        sample = self.git_dir / "objects" / "17"
        try:
            return sum(1 for _ in os.scandir(sample)) > 27  # ~7,000 in all
        except FileNotFoundError:
            return False

    def clear_stale_lock(self, lock: Path, wait_s: float = 5.0) -> None:
        """Remove a git lock file only when provably stale: no live process has it open
        and no git process works in this vault. The git child of a killed vaultsync
        can still be finishing its commit; deleting its lock then corrupts the vault.
        An idle shell whose cwd is the vault holds nothing and is not waited for."""
        deadline = time.monotonic() + wait_s
        while lock.exists():
            holders = [p for p in fsutil.pids_holding(lock) if p != os.getpid()]
            holders += self._processes_in_vault()
            if not holders:
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()
                return
            if time.monotonic() >= deadline:  # a held lock (exit 3), as the vault's own
                raise LockedError(
                    f"{lock} is held by a running process (pid {holders[0]})",
                    hint="wait for it to finish; if it hangs, stop it and run the sync again",
                )
            time.sleep(0.1)

    def _processes_in_vault(self) -> list[int]:
        return [pid for pid in fsutil.pids_working_in(self.root, "git") if pid != os.getpid()]

    # -- GitPython for the colder paths -------------------------------------------------

    @contextlib.contextmanager
    def repo(self) -> Iterator[git.Repo]:
        """GitPython on the vault, pinned to it: GIT_DIR and friends inherited from a hook
        would otherwise point its commands at another repository."""
        import git

        try:
            r = git.Repo(self.root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise VaultsyncError(f"{self.root} is not a git repository") from None
        r.git.update_environment(
            GIT_DIR=str(self.git_dir),
            GIT_WORK_TREE=str(self.root),
            GIT_INDEX_FILE=str(self.git_dir / "index"),
        )
        try:
            yield r
        finally:
            r.close()

    @classmethod
    def init(cls, root: Path, branch: str) -> GitVault:
        root.mkdir(parents=True, exist_ok=True)
        gitrun.run(["init", "--quiet", f"--initial-branch={branch}", str(root)], root)
        vault = cls(root)
        vault.apply_settings()
        return vault

    @classmethod
    def clone(cls, source: str, root: Path) -> GitVault:
        """A clone marked unfinished (CLONING, in its own config from its first moment)
        until `init --from` unsets it: a retry knows a killed clone's leftover as its own."""
        proc = gitrun.run(
            ["clone", "--quiet", "--config", f"{CLONING}=true", "--", source, str(root)],
            root.parent,
            env=gitrun.network_env(root.parent),
            check=False,
        )
        if proc.returncode != 0:
            detail = proc.stderr.decode("utf-8", "replace").strip()
            raise VaultsyncError(f"cannot clone {source}: {detail}")
        vault = cls(root)
        vault.apply_settings()  # settings are not cloned: durability must be set again
        return vault

    def apply_settings(self) -> None:
        for key, value in VAULT_SETTINGS.items():
            self.run("config", key, value)

    def is_repo(self) -> bool:
        return (self.git_dir / "HEAD").exists()

    def config_get(self, key: str) -> str | None:
        out = self.run("config", "--get", key, check=False)
        return out.decode().strip() or None


def data_of(paths: Iterable[str]) -> bytes:
    """NUL-terminated paths for git's `-z --stdin` (any byte but NUL is safe)."""
    return b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in paths)


def _log_entry(chunk: str) -> dict[str, Any]:
    fields = chunk.split("\0")
    commit, time_, subject, body = fields[0], fields[1], fields[2], fields[3]
    rest = [f for f in fields[4:] if f.strip("\n")]
    files = [{"status": rest[i].strip(), "path": rest[i + 1]} for i in range(0, len(rest) - 1, 2)]
    return {"commit": commit, "time": time_, "subject": subject, "body": body, "files": files}
