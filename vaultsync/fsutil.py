"""File-system primitives: atomic writes and the vault's single-writer lock."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat as st_mode
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from vaultsync.errors import LockedError, from_os_error

# A run killed between write and rename leaves this behind: the vault's .gitignore
# ignores it, and no memory glob matches it in a source folder.
TMP_SUFFIX = ".vaultsync-tmp"
NAME_MAX = 255  # bytes in one file name on every common file system
MAX_STATE_BYTES = 1 << 30  # a bigger file of ours is not ours: never read


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mkstemp(folder: Path, prefix: str) -> tuple[int, str]:
    """tempfile.mkstemp's file (created exclusively, mode 0600, a random name) without
    importing tempfile (shutil, random, bz2, lzma: ~3 ms of every sync's start-up)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        name = os.path.join(folder, f"{prefix}{os.urandom(6).hex()}{TMP_SUFFIX}")
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary name", str(folder))


def atomic_write(
    path: Path,
    data: bytes | Iterable[bytes],
    *,
    mode: int | None = None,
    durable: bool = True,
    check: Callable[[], None] | None = None,
) -> None:
    """Replace `path` with `data` so a reader sees the old or the new file, never a mix.

    `data`: the bytes, or chunks of them written as they come (a big file is never
    whole in memory). An existing file keeps its permission bits; a new one gets `mode`
    (default 0600).
    `durable=False` skips the fsyncs, for copies that git already holds durably.
    `check` runs last, right before the rename: if it raises, `path` is left as it is
    (the temp file removed) and the exception goes to the caller.
    """
    if mode is None:
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o600
    fd, tmp = _mkstemp(path.parent, f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, bytes):
                f.write(data)
            else:
                for chunk in data:
                    f.write(chunk)
            os.fchmod(f.fileno(), mode)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        if check is not None:
            check()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


def not_a_folder(paths: Iterable[Path]) -> Path | None:
    """The first of `paths` that exists, if it is not a folder (a file in the way of
    a folder that is to be made there or under it); None when it is a folder or none
    exists."""
    for path in paths:
        if os.path.lexists(path):
            return None if path.is_dir() else path
    return None


def read_regular(path: Path, tail: int = 0) -> bytes | None:
    """The file's bytes (its last `tail` bytes, if given) if it is a regular file of a
    sane size; None otherwise. Never blocks on a FIFO, never follows a symlink: a
    state or config file that something else took the name of costs a rebuild or a
    clear error, never a cron job that hangs."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not st_mode.S_ISREG(st.st_mode) or st.st_size > MAX_STATE_BYTES:
            return None
        if tail:
            if st.st_size < tail:
                return None
            os.lseek(fd, -tail, os.SEEK_END)
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read()
    except OSError:
        return None
    finally:
        os.close(fd)


def read_json_object(path: Path) -> dict[str, Any]:
    """One of vaultsync's own JSON files (runs.json, alerts.json, the metrics cache) as a
    dict; missing, damaged, of the wrong shape or not a regular file: empty."""
    data = read_regular(path)
    if data is None:
        return {}
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def replace_file(path: str, data: bytes) -> None:
    """Atomic but not durable, with a fixed temp name: for the vault's own work tree, which
    only the lock holder writes and whose durable copy is git's objects. 2x faster than
    atomic_write for the 100,000 copies of an initial import."""
    folder, name = os.path.split(path)
    tmp_name = "." + name + TMP_SUFFIX
    if len(os.fsencode(tmp_name)) > NAME_MAX:
        # A name near the limit (255 bytes) cannot take the suffix: a short fixed stand-in.
        import hashlib

        tmp_name = "." + hashlib.sha1(os.fsencode(name)).hexdigest() + TMP_SUFFIX
    tmp = os.path.join(folder, tmp_name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # a full disk must not leave half a copy behind
        raise


def create_file(path: str, data: bytes) -> bool:
    """A new file of the vault's own work tree written in place: no temporary name, no
    rename (18 us of the ~60 us each of an initial import's 100,000 copies). False, and
    nothing written, when something has the name already (replace_file is for that). A
    failed write takes its half copy away; one a kill interrupts is an untracked file
    the next sync's replace_file overwrites, as it was never committed."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return True


def write_all(fd: int, data: bytes) -> None:
    """os.write may write less than asked (a 2 GiB cap on Linux): loop until done."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class VaultLock:
    """An flock on `.vaultsync/lock`: the kernel drops it when the holder dies, so a
    lock left by a killed run never blocks the next one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, wait_s: float = 0.0) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:  # a read-only or full vault: said in words, for every command
            raise from_os_error(exc, self.path.parent.parent) from None
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    holder = _read_pid(fd)
                    os.close(fd)
                    who = f"another vaultsync (pid {holder})" if holder else "another vaultsync"
                    raise LockedError(
                        f"{who} is syncing this vault",
                        hint="try again later, or pass --wait SECONDS to wait for it",
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def holder(self) -> int | None:
        """The pid of the process holding the lock now, or None when nobody does."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _read_pid(fd) or -1
        else:
            return None
        finally:
            os.close(fd)  # also drops the shared lock taken to test

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> VaultLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def vault_lock(path: Path, wait_s: float = 0.0) -> Iterator[VaultLock]:
    lock = VaultLock(path)
    lock.acquire(wait_s)
    try:
        yield lock
    finally:
        lock.release()


def _live_pids() -> Iterator[int]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            yield int(entry.name)


def pids_holding(path: Path) -> list[int]:
    """Processes that have `path` open (Linux /proc; elsewhere `lsof`)."""
    target = str(path.resolve())
    if not os.path.isdir("/proc"):
        return _pids_holding_lsof(target)
    pids = []
    for pid in _live_pids():
        with contextlib.suppress(OSError):
            for fd in os.scandir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(fd.path) == target:
                        pids.append(pid)
                        break
    return pids


def pids_working_in(folder: Path, command: str | None = None) -> list[int]:
    """Processes whose working directory is `folder` or below it, and whose command name
    starts with `command` if given (Linux /proc; elsewhere none can be seen, and only the
    open-file check applies)."""
    if not os.path.isdir("/proc"):
        return []
    root = str(folder.resolve())
    found = []
    for pid in _live_pids():
        with contextlib.suppress(OSError):
            cwd = os.readlink(f"/proc/{pid}/cwd")
            if cwd == root or cwd.startswith(root + "/"):
                if command is None or _command(pid).startswith(command):
                    found.append(pid)
    return found


def _command(pid: int) -> str:
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def _pids_holding_lsof(target: str) -> list[int]:
    import shutil
    import subprocess

    if not shutil.which("lsof"):
        # Cannot prove nobody holds it: treat it as held.
        return [-1]
    out = subprocess.run(["lsof", "-t", target], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]
