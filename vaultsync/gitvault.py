"""The only module that talks to git.

The sync's hot path drives git plumbing as child processes: importing GitPython
alone costs ~80 ms, more than a whole no-change sync of a small vault may take.
Commits are written with `git fast-import`: it builds only the trees along changed
paths and writes one pack, so a sync never rewrites a 100k-entry index to commit
and an initial import never leaves 100,000 loose objects. GitPython (`repo.git`,
never its index API) serves the colder commands: init, clone, log, reads at a
revision. Every `Repo` is closed: its cat-file helper processes leak otherwise.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from vaultsync import fsutil
from vaultsync.errors import GitError, VaultsyncError

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


@dataclass(frozen=True)
class Ident:
    name: str
    email: str

    @classmethod
    def for_host(cls, host: str) -> Ident:
        # The environment wins, as for git itself; else a fixed machine identity
        # (the Vaultsync-Host trailer says which machine).
        return cls(
            os.environ.get("GIT_COMMITTER_NAME", "vaultsync"),
            os.environ.get("GIT_COMMITTER_EMAIL", f"vaultsync@{host}"),
        )


def git_env() -> dict[str, str]:
    env = dict(os.environ)
    env["LC_ALL"] = "C"  # stable messages to parse
    env.pop("GIT_INDEX_FILE", None)  # hooks export it; it must not redirect our index
    return env


def quote_path(path: str) -> str:
    """C-style quoting for fast-import paths that need it (LF, quote, backslash)."""
    if not any(c in path for c in '\n"\\') and not path.startswith('"'):
        return path
    escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class CommitWriter:
    """A `git fast-import` session: blobs are streamed as files are read, the commit
    comes last, once the message (which counts them) is known."""

    def __init__(self, vault: GitVault) -> None:
        self._vault = vault
        self._marks = 0
        # stderr to a file, not a pipe: a pipe nobody reads can fill up and stall git.
        import tempfile

        self._err = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            # unpackLimit=0: fast-import would otherwise explode a pack of under 100
            # objects into loose ones, deflating a 545 MB file a second time (10.7 s).
            ["git", "-c", "fastimport.unpackLimit=0", "fast-import", "--quiet", "--done"],
            cwd=vault.root,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._err,
            env=git_env(),
        )
        assert self._proc.stdin is not None
        self._in: IO[bytes] = self._proc.stdin

    def blob(self, data: bytes) -> str:
        """Stream one blob; returns its mark for `commit`."""
        self._marks += 1
        mark = f":{self._marks}"
        self._write(b"blob\nmark %s\ndata %d\n" % (mark.encode(), len(data)))
        self._write(data)
        self._write(b"\n")
        return mark

    def commit(
        self,
        ref: str,
        parent: str | None,
        message: str,
        when: datetime,
        ident: Ident,
        files: Iterable[tuple[str, str | None]],
    ) -> None:
        """`files`: (vault path, mark or blob id) to add/replace, (vault path, None) to delete."""
        stamp = f"{int(when.timestamp())} +0000"
        msg = message.encode("utf-8")
        out = [f"commit {ref}\n", f"author {ident.name} <{ident.email}> {stamp}\n"]
        out.append(f"committer {ident.name} <{ident.email}> {stamp}\n")
        self._write("".join(out).encode() + b"data %d\n" % len(msg) + msg + b"\n")
        if parent:
            self._write(f"from {parent}\n".encode())
        lines = []
        for path, ref_or_none in files:
            q = quote_path(path)
            lines.append(f"D {q}\n" if ref_or_none is None else f"M 100644 {ref_or_none} {q}\n")
        # surrogateescape: a file name that is not UTF-8 is committed under its own bytes.
        self._write("".join(lines).encode("utf-8", "surrogateescape") + b"\n")

    def close(self) -> None:
        """Finish: returns once the pack and the ref are on disk."""
        self._write(b"done\n")
        self._in.close()
        rc = self._proc.wait()
        self._err.seek(0)
        err = self._err.read().decode("utf-8", "replace")
        self._err.close()
        if rc != 0:
            raise GitError(["fast-import"], rc, err)

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._in.close()
        self._proc.kill()
        self._proc.wait()
        self._err.close()

    def _write(self, data: bytes) -> None:
        try:
            self._in.write(data)
        except BrokenPipeError:
            self._proc.wait()
            self._err.seek(0)
            raise GitError(
                ["fast-import"], self._proc.returncode, self._err.read().decode("utf-8", "replace")
            ) from None


class GitVault:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.git_dir = root / ".git"

    # -- plumbing -----------------------------------------------------------------------

    def run(self, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
        cmd = ["git", *args]
        try:
            proc = subprocess.run(
                cmd, cwd=self.root, input=input, capture_output=True, env=git_env()
            )
        except FileNotFoundError:
            raise VaultsyncError("git is not installed (or not on PATH)") from None
        if check and proc.returncode != 0:
            raise GitError(cmd, proc.returncode, proc.stderr.decode("utf-8", "replace"))
        return proc.stdout

    def returncode(self, *args: str) -> int:
        return subprocess.run(
            ["git", *args], cwd=self.root, capture_output=True, env=git_env()
        ).returncode

    def fsck(self) -> list[str]:
        """What `git fsck` finds wrong (nothing: an empty list)."""
        proc = subprocess.run(
            ["git", "fsck", "--no-progress", "--no-dangling"],
            cwd=self.root,
            capture_output=True,
            env=git_env(),
        )
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
        stamp = str(int(when.timestamp()))
        out = self.run("rev-list", "-1", "--first-parent", f"--before={stamp}", ref, check=False)
        return out.decode().strip() or None

    def first_commit_time(self, ref: str = "HEAD") -> str | None:
        out = self.run("rev-list", "--max-parents=0", "--format=%cI", ref, check=False)
        lines = out.decode().split()
        return lines[-1] if len(lines) > 1 else None

    def read_blobs(self, rev: str, paths: Sequence[str]) -> dict[str, bytes]:
        """The content of each path at `rev`: one tree lookup per path, never a walk of
        history, in one `cat-file --batch` process."""
        return self.read_objects([f"{rev}:{p}" for p in paths], paths)

    def read_objects(self, names: Sequence[str], keys: Sequence[str]) -> dict[str, bytes]:
        """Objects by name (a blob id is fastest: `HEAD:path` resolves the path through
        every tree on the way, 7 ms each in a 20,000-file folder), under `keys`."""
        if not names:
            return {}
        request = "".join(f"{n}\n" for n in names).encode("utf-8", "surrogateescape")
        out = self.run("cat-file", "--batch", input=request)
        found: dict[str, bytes] = {}
        pos = 0
        for path in keys:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if header[-1] == b"missing":
                continue
            size = int(header[2])
            found[path] = out[pos : pos + size]
            pos += size + 1
        return found

    def log(self, ref: str, paths: Sequence[str], limit: int | None) -> list[dict[str, Any]]:
        """Commits newest first with the files each changed (first-parent line)."""
        args = [
            "log",
            "--first-parent",
            "-z",
            "--no-renames",
            "--name-status",
            "--format=%x01%H%x00%cI%x00%s",
        ]
        if limit is not None:
            args.append(f"-n{limit}")
        out = self.run(*args, ref, "--", *paths).decode("utf-8", "surrogateescape")
        return [_log_entry(chunk) for chunk in out.split("\x01") if chunk]

    def writer(self) -> CommitWriter:
        self.clear_stale_lock(self.git_dir / "index.lock")
        return CommitWriter(self)

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

    def needs_push(self, remote: str, branch: str) -> bool:
        """One process: does the remote-tracking ref lag behind HEAD?"""
        out = self.run("rev-parse", "HEAD", f"refs/remotes/{remote}/{branch}", check=False)
        shas = out.decode().split()
        return len(shas) < 2 or shas[0] != shas[1]

    def push(self, remote: str, branch: str, timeout_s: float) -> str | None:
        """Push HEAD to the remote's branch; returns None on success, else git's reason.
        Never prompts: from cron a credential prompt would hang until the timeout."""
        env = git_env()
        env["GIT_TERMINAL_PROMPT"] = "0"
        env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        cmd = ["git", "push", "--quiet", remote, f"HEAD:refs/heads/{branch}"]
        try:
            proc = subprocess.run(
                cmd, cwd=self.root, capture_output=True, env=env, timeout=timeout_s
            )
        except subprocess.TimeoutExpired:
            return f"no answer from {remote!r} within {timeout_s:g} s (push_timeout)"
        if proc.returncode == 0:
            # A push to a URL (not a fetch-configured remote) leaves no tracking ref.
            self.run("update-ref", f"refs/remotes/{remote}/{branch}", "HEAD", check=False)
            return None
        return (
            proc.stderr.decode("utf-8", "replace").strip() or f"git push exited {proc.returncode}"
        )

    def unpushed(self, remote: str, branch: str) -> int:
        """Commits on the branch that the remote-tracking ref does not have."""
        tracking = f"refs/remotes/{remote}/{branch}"
        base = [f"^{tracking}"] if self.resolve(tracking) else []
        if not self.head():
            return 0
        return int(self.run("rev-list", "--count", "HEAD", *base).decode().strip() or 0)

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
        and no other process works in this vault. The git child of a killed vaultsync
        can still be finishing its commit; deleting its lock then corrupts the vault."""
        deadline = time.monotonic() + wait_s
        while lock.exists():
            holders = [p for p in fsutil.pids_holding(lock) if p != os.getpid()]
            holders += self._processes_in_vault()
            if not holders:
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()
                return
            if time.monotonic() >= deadline:
                raise VaultsyncError(
                    f"{lock} is held by a running process (pid {holders[0]})",
                    hint="wait for it to finish; if it hangs, stop it and run the sync again",
                )
            time.sleep(0.1)

    def _processes_in_vault(self) -> list[int]:
        return [pid for pid in fsutil.pids_working_in(self.root) if pid != os.getpid()]

    # -- GitPython for the colder paths -------------------------------------------------

    @contextlib.contextmanager
    def repo(self) -> Iterator[git.Repo]:
        import git

        try:
            r = git.Repo(self.root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise VaultsyncError(f"{self.root} is not a git repository") from None
        try:
            yield r
        finally:
            r.close()

    @classmethod
    def init(cls, root: Path, branch: str) -> GitVault:
        import git

        root.mkdir(parents=True, exist_ok=True)
        git.Repo.init(root, initial_branch=branch).close()
        vault = cls(root)
        vault.apply_settings()
        return vault

    @classmethod
    def clone(cls, source: str, root: Path) -> GitVault:
        import git

        try:
            git.Repo.clone_from(source, root, env=git_env()).close()
        except git.GitCommandError as exc:
            detail = str(exc.stderr).strip().removeprefix("stderr: ").strip("'\n ")
            raise VaultsyncError(f"cannot clone {source}: {detail}") from None
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

    def remote_url(self, name: str) -> str | None:
        return self.config_get(f"remote.{name}.url")

    def add_remote(self, name: str, url: str) -> None:
        if self.remote_url(name) is None:
            self.run("remote", "add", name, url)
        else:
            self.run("remote", "set-url", name, url)


def _log_entry(chunk: str) -> dict[str, Any]:
    fields = chunk.split("\0")
    commit, time_, subject = fields[0], fields[1], fields[2]
    rest = [f for f in fields[3:] if f.strip("\n")]
    files = [{"status": rest[i].strip(), "path": rest[i + 1]} for i in range(0, len(rest) - 1, 2)]
    return {"commit": commit, "time": time_, "subject": subject, "files": files}


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso_z(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
