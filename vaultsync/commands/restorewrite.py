"""How restore writes the sources: each file atomically, and never over a write the
agent made after restore read the file (the agent keeps working while restore runs)."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from vaultsync.errors import EXIT_PARTIAL, VaultsyncError
from vaultsync.fsutil import TMP_SUFFIX, atomic_write
from vaultsync.state import stat_key

# atomic_write's temp name: tempfile.mkstemp(prefix=".NAME.", suffix=TMP_SUFFIX)
_LEFTOVER = re.compile(r"\..+\.[a-z0-9_]{8}" + re.escape(TMP_SUFFIX) + r"\Z", re.DOTALL)


class Planned(Protocol):
    """What restore planned for one file (restore.Action)."""

    @property
    def target(self) -> Path: ...
    @property
    def kind(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def seen(self) -> list[int] | None: ...


class ChangedMeanwhile(Exception):
    """The file's stat is not what it was when restore read it: someone wrote it since."""


def unchanged_since(path: Path, seen: list[int] | None) -> Callable[[], None]:
    """A check for atomic_write: `path` still has the stat (size, mtime, ctime, inode)
    restore read it with, or still does not exist (`seen` None)."""

    def check() -> None:
        try:
            now: list[int] | None = stat_key(os.stat(path))
        except FileNotFoundError:
            now = None
        if now != seen:
            raise ChangedMeanwhile(str(path))

    return check


def write_all(actions: Sequence[Planned]) -> list[Path]:
    """Write every planned file; returns those left alone because they changed after
    restore read them (the pre-restore snapshot has what was read; the newer write
    stays on disk). The window left is the instant between the check and the rename."""
    todo = [a for a in actions if a.kind != "unchanged"]
    left: list[Path] = []
    for done, a in enumerate(todo):
        path = write_path(a.target)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(path, a.data, check=unchanged_since(path, a.seen))
        except ChangedMeanwhile:
            left.append(a.target)
        except OSError as exc:
            err = VaultsyncError(
                f"{a.target}: cannot write it ({exc.strerror or exc}); "
                f"{done - len(left)} of {len(todo)} file(s) were restored before it",
                hint="fix the cause and run the restore again: what is restored stays so",
            )
            err.exit_code = EXIT_PARTIAL  # done in part, not a usage error
            raise err from None
    return left


def write_path(target: Path) -> Path:
    """Where a file is written: a symlinked file is written at the link's target, so the
    link stays a link."""
    return Path(os.path.realpath(target)) if target.is_symlink() else target


def clean_leftovers(actions: Sequence[Planned]) -> None:
    """A killed restore leaves its temp files (`.NAME.XXXXXXXX.vaultsync-tmp`, exactly
    atomic_write's pattern) in the user's folders: remove them before writing there."""
    for folder in sorted({write_path(a.target).parent for a in actions}):
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                if _LEFTOVER.match(entry.name) and entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
