"""The vault's remote: push, fetch and what the remote lacks, with typed results
(ok / rejected / auth / network / timeout); a part of GitVault (gitvault.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from vaultsync import gitrun
from vaultsync.errors import GitTimeout
from vaultsync.gitrun import classify_push_error
from vaultsync.result import PushResult, PushStatus


class _Git(Protocol):
    """What these operations use of GitVault."""

    root: Path

    def run(self, *args: str, input: bytes | None = None, check: bool = True) -> bytes: ...

    def resolve(self, rev: str) -> str | None: ...

    def head(self) -> str | None: ...

    def config_get(self, key: str) -> str | None: ...


class RemoteOps:
    """GitVault's network half; every git it runs goes through gitrun."""

    def needs_push(self: _Git, remote: str, branch: str) -> bool:
        """One process: does the remote-tracking ref lag behind HEAD?"""
        out = self.run("rev-parse", "HEAD", f"refs/remotes/{remote}/{branch}", check=False)
        shas = out.decode().split()
        return len(shas) < 2 or shas[0] != shas[1]

    def push(self: _Git, remote: str, branch: str, timeout_s: float) -> PushResult:
        """Push HEAD to the remote's branch; never force, never prompt (from cron a
        credential prompt would hang until the timeout)."""
        args = ["push", "--quiet", remote, f"HEAD:refs/heads/{branch}"]
        result = RemoteOps._network(self, args, remote, timeout_s)
        if result.status == PushStatus.OK:
            # A push to a URL (not a fetch-configured remote) leaves no tracking ref.
            self.run("update-ref", f"refs/remotes/{remote}/{branch}", "HEAD", check=False)
        return result

    def fetch(self: _Git, remote: str, branch: str, timeout_s: float) -> PushResult:
        """Fetch the remote's branch into its tracking ref, with the push's rules."""
        refspec = f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"
        return RemoteOps._network(self, ["fetch", "--quiet", remote, refspec], remote, timeout_s)

    def _network(self: _Git, args: list[str], remote: str, timeout_s: float) -> PushResult:
        env = gitrun.network_env(self.root)
        try:
            proc = gitrun.run(args, self.root, env=env, timeout=timeout_s, check=False)
        except GitTimeout:
            return PushResult(
                PushStatus.TIMEOUT,
                f"no answer from {remote!r} within {timeout_s:g} s (push_timeout)",
            )
        if proc.returncode == 0:
            return PushResult(PushStatus.OK)
        err = proc.stderr.decode("utf-8", "replace").strip()
        return PushResult(
            classify_push_error(err), err or f"git {args[0]} exited {proc.returncode}"
        )

    def unpushed(self: _Git, remote: str, branch: str) -> int:
        """Commits on the branch that the remote-tracking ref does not have."""
        tracking = f"refs/remotes/{remote}/{branch}"
        base = [f"^{tracking}"] if self.resolve(tracking) else []
        if not self.head():
            return 0
        return int(self.run("rev-list", "--count", "HEAD", *base).decode().strip() or 0)

    def remote_url(self: _Git, name: str) -> str | None:
        return self.config_get(f"remote.{name}.url")

    def add_remote(self: _Git, name: str, url: str) -> None:
        if RemoteOps.remote_url(self, name) is None:
            self.run("remote", "add", name, url)
        else:
            self.run("remote", "set-url", name, url)
