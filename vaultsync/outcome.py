"""Running a command: expected failures become one message and their exit code.

Shared by the typer CLI and the fast path, so both report alike.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec

from vaultsync.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, VaultsyncError

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


def _crash() -> int:
    import tempfile

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
