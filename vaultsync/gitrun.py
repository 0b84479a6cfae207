"""The one place that starts git: an allow-listed environment, timeouts, and failures
that carry the command, its exit code and stderr.

Git exports GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE to hooks (and `--git-dir`
users export them by hand); a vaultsync started from such a hook would otherwise
write its commit into the *other* repository. Like pre-commit's `no_git_env`, only
the variables that say who we are and how to reach a remote pass through.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from vaultsync.errors import EXIT_PARTIAL, DiskFullError, GitError, GitTimeout, VaultsyncError

if TYPE_CHECKING:  # imported when a push is classified: a sync's git starts before it
    from vaultsync.result import PushStatus

# Variables of git's that describe the user or the network, never a repository.
_PASS = frozenset(
    {
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
        "GIT_EXEC_PATH",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_SSH_VARIANT",
        "GIT_ASKPASS",
        "GIT_TERMINAL_PROMPT",
        "GIT_SSL_CAINFO",
        "GIT_SSL_NO_VERIFY",
        "GIT_HTTP_PROXY_AUTHMETHOD",
        "GIT_ALLOW_PROTOCOL",
        "GIT_TRACE",
        "GIT_TRACE2",
        "GIT_TRACE2_EVENT",
        "GIT_TRACE_PACKET",
    }
)

# Messages of a disk that is full (or a vault that cannot be written), as git and the
# kernel word them.
_NO_SPACE = ("No space left on device", "Disk quota exceeded", "Out of diskspace")  # fast-import
_READ_ONLY = ("Read-only file system",)


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _PASS}
    env["LC_ALL"] = "C"  # stable messages to parse
    # A config key given as GIT_CONFIG_COUNT/KEY_n/VALUE_n by the caller's git would
    # apply to the vault as well: those are dropped above with the rest.
    if extra:
        env.update(extra)
    return env


def run(
    args: Sequence[str],
    cwd: Path,
    *,
    input: bytes | None = None,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """`git ARGS` in `cwd`; raises GitError (or a subclass) when it fails and `check`."""
    cmd = ["git", *args]
    try:
        proc = _run(cmd, cwd, input, git_env(env), timeout)
    except OSError as exc:
        raise cannot_start(exc) from None
    except subprocess.TimeoutExpired:
        raise GitTimeout(cmd, timeout or 0.0) from None
    if check and proc.returncode != 0:
        raise failure(cmd, proc.returncode, proc.stderr.decode("utf-8", "replace"), cwd)
    return proc


def _run(
    cmd: list[str],
    cwd: Path,
    input: bytes | None,
    env: dict[str, str],
    timeout: float | None,
) -> subprocess.CompletedProcess[bytes]:
    if timeout is None:
        return subprocess.run(cmd, cwd=cwd, input=input, capture_output=True, env=env)
    # With a timeout, git runs in its own process group, and the whole group is killed
    # when it expires: git's helpers (ssh, git-remote-http) would otherwise outlive it,
    # stuck on a server that never answers, one more with every cron run.
    with subprocess.Popen(
        cmd,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()  # not the pipes: a helper that escaped the group may hold them
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def network_env(cwd: Path) -> dict[str, str]:
    """Never prompt: cron has no terminal, and a prompt would hang until the timeout.
    ssh gets BatchMode on top of the user's own ssh command (GIT_SSH_COMMAND or
    core.sshCommand, whose key and known_hosts settings stay as they are)."""
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "SSH_ASKPASS": "true"}
    if "GIT_SSH" not in os.environ:
        own = os.environ.get("GIT_SSH_COMMAND")
        if own is None:
            proc = run(["config", "--get", "core.sshCommand"], cwd, check=False)
            own = proc.stdout.decode().strip() or "ssh"
        env["GIT_SSH_COMMAND"] = f"{own} -o BatchMode=yes"
    return env


def output(args: Sequence[str], cwd: Path, **kwargs: object) -> bytes:
    """stdout of a git command that must succeed."""
    return run(args, cwd, **kwargs).stdout  # type: ignore[arg-type]


def popen(args: Sequence[str], cwd: Path, stderr: IO[bytes]) -> subprocess.Popen[bytes]:
    """A long-lived git (fast-import) fed on stdin; stderr to a file, not a pipe nobody
    reads (a full pipe stalls git)."""
    try:
        return subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=git_env(),
        )
    except OSError as exc:
        raise cannot_start(exc) from None


def cannot_start(exc: OSError) -> VaultsyncError:
    """git could not be started at all: not installed, or the system refused a process
    (ENOMEM, EMFILE, EAGAIN, a `git` that is not a program). Exit 1: nothing was done."""
    if isinstance(exc, FileNotFoundError):
        err = VaultsyncError("git is not installed (or not on PATH)")
    else:
        err = VaultsyncError(
            f"cannot start git: {exc.strerror or exc}",
            hint="the system is short of memory or open files, or `git` on PATH is broken;"
            " nothing was changed by this step, run it again once that is fixed",
        )
    err.exit_code = EXIT_PARTIAL
    return err


def failure(cmd: Sequence[str], returncode: int, stderr: str, where: Path) -> GitError:
    """The error for a failed git command: a full disk or a read-only vault is said in
    words, with what to do, rather than as git's raw message."""
    if any(m in stderr for m in _NO_SPACE):
        return DiskFullError(where)
    if any(m in stderr for m in _READ_ONLY):
        return GitError(
            list(cmd),
            returncode,
            stderr,
            summary=f"the vault {where} is on a read-only file system",
            hint="remount it read-write, or move the vault (`--vault PATH`)",
        )
    return GitError(list(cmd), returncode, stderr)


_PUSH_ERRORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("REJECTED", ("[rejected]", "non-fast-forward", "fetch first", "[remote rejected]")),
    (
        "AUTH",
        (
            "Authentication failed",
            "Permission denied",
            "could not read Username",
            "could not read Password",
            "terminal prompts disabled",
            "Host key verification failed",
            "The requested URL returned error: 401",
            "The requested URL returned error: 403",
            "access denied",
        ),
    ),
    (
        "NETWORK",
        (
            "Could not resolve host",
            "Connection refused",
            "Connection timed out",
            "Network is unreachable",
            "No route to host",
            "unable to connect",
            "Could not read from remote repository",
            "does not appear to be a git repository",
            "unable to access",
            "Connection reset",
            "early EOF",
        ),
    ),
)


def classify_push_error(stderr: str) -> PushStatus:
    """Which kind of failure git's words describe (checked in this order: a rejection
    also prints "failed to push", an auth failure also "Could not read from remote")."""
    from vaultsync.result import PushStatus

    for status, needles in _PUSH_ERRORS:
        if any(n.lower() in stderr.lower() for n in needles):
            return PushStatus[status]
    return PushStatus.ERROR


class Started:
    """A git started ahead of need, whose answer is collected later (gitindex.prefetch)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def collect(self, timeout: float) -> tuple[int, bytes, bytes]:
        """(exit code, stdout, stderr); a git that does not finish in time is killed and
        reads as failed."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.cancel()
            return 1, b"", b""
        return self.proc.returncode, out, err

    def cancel(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(OSError, ValueError):
            self.proc.communicate()


def start(
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
) -> Started | None:
    """`git ARGS` started now, in its own process group; None when git cannot be started
    (the caller runs it again the usual way). `input`, if any, is written at once: no
    more than a pipe holds (~64 KiB), or this blocks until git has read it."""
    try:
        proc = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=git_env(env),
            start_new_session=True,
        )
    except OSError:
        return None
    if input is not None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(input)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # git ended early: its exit code says why
        proc.stdin = None  # handed over: communicate() is not to flush it again
    return Started(proc)
