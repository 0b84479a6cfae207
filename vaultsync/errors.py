"""One exception base; each user-facing failure carries its message and exit code."""

from __future__ import annotations

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
    """A git command failed; the message carries the command, its exit code and stderr."""

    exit_code = EXIT_INTERNAL

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        cmd = " ".join(args)
        detail = stderr.strip() or "(no output)"
        super().__init__(f"git failed: `{cmd}` exited {returncode}:\n{detail}")
        self.args_ = args
        self.returncode = returncode
        self.stderr = stderr
