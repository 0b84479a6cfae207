"""A `git fast-import` session: blobs are streamed as files are read, commits (with any
number of parents) come last. Writing commits this way builds only the trees along
changed paths and one pack, so a sync never rewrites a 100k-entry index to commit and
an initial import never leaves 100,000 loose objects."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING

from vaultsync import gitrun
from vaultsync.errors import DiskFullError, GitError, VaultsyncError

if TYPE_CHECKING:
    from vaultsync.gitvault import GitVault


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


def quote_path(path: str) -> str:
    """C-style quoting for fast-import paths that need it (LF, quote, backslash)."""
    if not any(c in path for c in '\n"\\') and not path.startswith('"'):
        return path
    escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def file_command(path: str, ref: str | None) -> bytes:
    """A commit's line for one file: `M` to add or replace it by `ref` (a mark or a blob
    id), `D` (ref None) to delete it. surrogateescape: a file name that is not UTF-8 is
    committed under its own bytes."""
    q = quote_path(path)
    line = f"D {q}\n" if ref is None else f"M 100644 {ref} {q}\n"
    return line.encode("utf-8", "surrogateescape")


class CommitWriter:
    """A `git fast-import` session: blobs are streamed as files are read, the commit
    comes last, once the message (which counts them) is known."""

    def __init__(self, vault: GitVault) -> None:
        self._vault = vault
        self._marks = 0
        # stderr to a file, not a pipe: a pipe nobody reads can fill up and stall git.
        self._err = _anonymous_file()
        self._packs_before = vault.pack_files()
        self._proc = gitrun.popen(
            # unpackLimit=0: fast-import would otherwise explode a pack of under 100
            # objects into loose ones, deflating a 545 MB file a second time (10.7 s).
            ["-c", "fastimport.unpackLimit=0", "fast-import", "--quiet", "--done"],
            vault.root,
            self._err,
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
        merges: Sequence[str] = (),
        commands: bytes | bytearray = b"",
    ) -> None:
        """`files`: (vault path, mark or blob id) to add/replace, (vault path, None) to delete.
        `merges`: further parents after `parent` (a merge commit: remote integration).
        `commands`: more file lines (`file_command`), already made, after `files`."""
        stamp = f"{int(when.timestamp())} +0000"
        msg = message.encode("utf-8")
        out = [f"commit {ref}\n", f"author {ident.name} <{ident.email}> {stamp}\n"]
        out.append(f"committer {ident.name} <{ident.email}> {stamp}\n")
        self._write("".join(out).encode() + b"data %d\n" % len(msg) + msg + b"\n")
        if parent:
            self._write(f"from {parent}\n".encode())
        for other in merges:
            self._write(f"merge {other}\n".encode())
        self._write(b"".join(file_command(path, ref) for path, ref in files))
        self._write(commands)
        self._write(b"\n")

    def close(self) -> None:
        """Finish: returns once the pack and the ref are on disk."""
        self.send()
        self.wait()

    def send(self) -> None:
        """The end of the stream: git writes the pack and the refs from here on, while
        the caller does other work (`wait` then says whether it succeeded)."""
        self._write(b"done\n")
        try:
            self._in.close()
        except BrokenPipeError:
            pass  # git is gone: wait says why

    def wait(self) -> None:
        """Returns once the pack and the ref are on disk; raises what git said if not."""
        rc = self._proc.wait()
        if rc != 0:
            raise self._failed()
        self._err.close()

    def abort(self) -> None:
        """Stop git and take away what a killed fast-import leaves (temporary packs, keep
        files), so the next run starts clean."""
        with contextlib.suppress(OSError):
            self._in.close()
        self._proc.kill()
        self._proc.wait()
        with contextlib.suppress(OSError, ValueError):
            self._err.close()
        self._vault.remove_new_pack_files(self._packs_before)

    def _failed(self) -> GitError:
        self._err.seek(0)
        err = self._err.read().decode("utf-8", "replace")
        self._err.close()
        self._vault.remove_new_pack_files(self._packs_before)
        failure = gitrun.failure(["fast-import"], self._proc.returncode, err, self._vault.root)
        if isinstance(failure, DiskFullError):  # its crash report says only "disk full"
            with contextlib.suppress(OSError):
                (self._vault.git_dir / f"fast_import_crash_{self._proc.pid}").unlink()
        return failure

    def _write(self, data: bytes | bytearray) -> None:
        try:
            self._in.write(data)
        except BrokenPipeError:
            self._proc.wait()
            raise self._failed() from None
        except OSError as exc:
            self.abort()
            raise VaultsyncError(f"cannot feed git fast-import: {exc.strerror}") from None


def _anonymous_file() -> IO[bytes]:
    """A file without a name, for git's stderr: memfd on Linux (tempfile's import is ~3 ms
    of every sync's start-up), else tempfile's."""
    create = getattr(os, "memfd_create", None)
    if create is not None:
        try:
            return os.fdopen(create("vaultsync-git-stderr", os.MFD_CLOEXEC), "w+b")
        except OSError:
            pass
    import tempfile

    return tempfile.TemporaryFile()
