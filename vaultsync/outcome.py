"""Running a command: expected failures become one message and their exit code.

Shared by the typer CLI and the fast path, so both report alike.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TextIO

from vaultsync.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, VaultsyncError

P = ParamSpec("P")
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what git's exit looks like to the shell


def vault_path(option: str | Path | None) -> Path:
    """--vault, else $VAULTSYNC_VAULT, else the platform's user data dir."""
    if option is not None:
        return Path(os.path.abspath(os.path.expanduser(option)))
    if env := os.environ.get("VAULTSYNC_VAULT"):
        return Path(os.path.abspath(os.path.expanduser(env)))
    from platformdirs import user_data_dir

    return Path(user_data_dir("vaultsync")) / "vault"


def guarded(fn: Callable[P, int], *args: P.args, **kwargs: P.kwargs) -> int:
    try:
        return fn(*args, **kwargs)
    except VaultsyncError as exc:
        print(f"vaultsync: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("vaultsync: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`vaultsync log | head`): stop quietly, as git does.
        # stdout goes to /dev/null so the flush at exit does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception:
        return _crash()


def _own_file(name: object) -> bool:
    """Whether `name` is one of the program's own files: a module, or data it ships
    (schemas, hook scripts; under the package in a wheel, beside it in a checkout)."""
    if not isinstance(name, (str, bytes, os.PathLike)):
        return False
    here = os.path.dirname(os.path.realpath(__file__))
    roots = (here, *(os.path.join(os.path.dirname(here), d) for d in ("schemas", "hooks")))
    path = os.path.realpath(os.fsdecode(name))
    return any(path.startswith(root + os.sep) for root in roots)


def _unloadable(exc: BaseException | None) -> bool:
    """Whether Python failed to read one of the program's own modules (a lazily
    imported one, mid-run) or a file it ships (a schema read on first use): the disk
    or the installation, not a bug of vaultsync's."""
    if not isinstance(exc, (OSError, ImportError)):
        return False
    if isinstance(exc, OSError) and _own_file(exc.filename):
        return True
    tb, last = exc.__traceback__, None
    while tb is not None:
        tb, last = tb.tb_next, tb
    return last is not None and last.tb_frame.f_code.co_filename.startswith("<frozen importlib")


def _crash() -> int:
    import tempfile
    import traceback  # only here: ~4 ms of every start-up otherwise

    exc = sys.exc_info()[1]
    if _unloadable(exc):
        what = getattr(exc, "strerror", None) or exc
        where = getattr(exc, "filename", None) or getattr(exc, "path", None) or "a module"
        print(f"vaultsync: error: cannot load its own code ({what}: {where}); the run stopped"
              " there, what it had done is kept", file=sys.stderr)
        print("  hint: check the disk vaultsync is installed on, then run it again",
              file=sys.stderr)
        return EXIT_PARTIAL
    kind = sys.exc_info()[0]
    name = kind.__name__ if kind else "error"
    try:
        fd, path = tempfile.mkstemp(prefix="vaultsync-crash-", suffix=".log")
        with os.fdopen(fd, "w") as f:
            traceback.print_exc(file=f)
    except OSError:
        # No room for the traceback either (a full /tmp): print it instead.
        print(f"vaultsync: internal error ({name}):", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return EXIT_INTERNAL
    print(f"vaultsync: internal error ({name}); the traceback is in {path}", file=sys.stderr)
    print("  please report it with that file", file=sys.stderr)
    return EXIT_INTERNAL


class _Guarded(io.TextIOBase):
    """sys.stdout / sys.stderr that survive a stream that cannot be written (closed, a
    full disk, an I/O error): the first failure is kept and later output dropped, so
    the command still finishes its own work (the commit, the state). A reader that went
    away (EPIPE) still raises BrokenPipeError: `guarded` ends that quietly, as git does."""

    def __init__(self, inner: TextIO | None, fd: int) -> None:
        super().__init__()
        self.inner, self.fd = inner, fd
        self.failure: str | None = None

    def _fail(self, why: str) -> None:
        self.failure = why
        # What is left in the buffer goes nowhere, and the flush at exit cannot fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), self.fd)

    def write(self, s: str) -> int:
        if self.failure is None:
            if self.inner is None:
                self.failure = "it is closed"
            else:
                try:
                    return self.inner.write(s)
                except BrokenPipeError:
                    raise
                except OSError as exc:
                    self._fail(exc.strerror or str(exc))
        return len(s)

    def flush(self) -> None:
        if self.failure is None and self.inner is not None:
            try:
                self.inner.flush()
            except BrokenPipeError:
                raise
            except OSError as exc:
                self._fail(exc.strerror or str(exc))

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.inner is not None and self.failure is None and self.inner.isatty()

    def fileno(self) -> int:
        return self.fd

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return (self.inner.encoding if self.inner is not None else None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.inner.errors if self.inner is not None else "strict"


def _open_std_fds() -> None:
    """A closed fd 0, 1 or 2 gets /dev/null: else the next file opened (the vault's lock,
    a git pipe) would take its number and output would land in it."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            devnull = os.open(os.devnull, os.O_RDWR)
            if devnull != fd:
                os.dup2(devnull, fd)
                os.close(devnull)


def entry(main: Callable[[], int]) -> int:
    """The process's entry point: the command's exit code, except that output it could
    not write to stdout (closed, /dev/full, EIO) is said in one line on stderr, if that
    can be written, and makes the exit 1 (the command's work itself is done)."""
    _open_std_fds()
    out = sys.stdout = _Guarded(sys.stdout, 1)
    err = sys.stderr = _Guarded(sys.stderr, 2)
    code = main()
    for stream in (out, err):
        try:
            stream.flush()
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fd)
            code = code or EXIT_BROKEN_PIPE
    if out.failure is not None:
        print(
            f"vaultsync: error: cannot write the output to stdout ({out.failure}); "
            "what the command did is done, only its output is lost",
            file=err,
        )
        err.flush()
        if code == EXIT_OK:
            code = EXIT_PARTIAL
    return code
