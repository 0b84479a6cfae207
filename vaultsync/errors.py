"""One exception base; each user-facing failure carries its message and exit code."""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_PUSH_FAILED = 4
EXIT_INTERRUPTED = 130
# An unexpected exception must not look like "done in part" (1) to a monitor.
EXIT_INTERNAL = 70


class VaultsyncError(Exception):
    """An expected failure: printed as one message, no traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(VaultsyncError):
    """Bad arguments: nothing was changed."""


class ConfigError(VaultsyncError):
    """vaultsync.toml is missing, unreadable or invalid: nothing was changed."""


class VaultNotFound(ConfigError):
    """No vault where one was expected."""


class LockedError(VaultsyncError):
    """Another vaultsync process holds the vault's lock."""

    exit_code = EXIT_LOCKED


class GitError(VaultsyncError):
    """A git command failed; the message carries the command, its exit code and stderr.

    Not exit 70: git said what went wrong (a damaged vault, a full disk), and the
    message passes that on; 70 is kept for vaultsync's own bugs."""

    exit_code = EXIT_PARTIAL

    def __init__(
        self,
        args: list[str],
        returncode: int,
        stderr: str,
        summary: str | None = None,
        hint: str | None = None,
    ) -> None:
        cmd = " ".join(args)
        detail = stderr.strip() or "(no output)"
        head = summary or f"git failed: `{cmd}` exited {returncode}"
        super().__init__(f"{head}:\n{detail}" if not summary else head, hint=hint)
        self.args_ = args
        self.returncode = returncode
        self.stderr = stderr


class GitTimeout(GitError):
    """A git command did not finish in time (a remote that never answers)."""

    def __init__(self, args: list[str], timeout_s: float) -> None:
        super().__init__(
            args, -1, "", summary=f"`{' '.join(args)}` gave no answer within {timeout_s:g} s"
        )
        self.timeout_s = timeout_s


class DiskFullError(GitError):
    """The vault's disk is full: nothing was committed, and the next run can succeed."""

    def __init__(self, where: object, need_bytes: int | None = None) -> None:
        need = f" (need ~{max(1, need_bytes >> 20)} MB)" if need_bytes else ""
        super().__init__(
            [],
            -1,
            "",
            summary=f"no space left on the vault's disk{need}: nothing was committed",
            hint=f"free some space where {where} lives, then run the sync again",
        )
        self.need_bytes = need_bytes


def from_os_error(exc: OSError, vault: object) -> VaultsyncError:
    """What the disk did to a run, in words: full, read-only, or refused."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(vault)
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno == errno.EROFS:
        err = VaultsyncError(
            f"the vault {vault} is on a read-only file system{where}: nothing was committed",
            hint="remount it read-write, or point --vault at a writable copy",
        )
    else:
        err = VaultsyncError(
            f"cannot write the vault {vault}: {exc.strerror or exc}{where}; nothing was committed",
            hint="check the vault's owner, mode and disk",
        )
    err.exit_code = EXIT_PARTIAL
    return err
