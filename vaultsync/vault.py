"""A vault opened once per command (as borg's `with_repository`): its paths, its
configuration, its git and its lock, so no command spells out `.vaultsync/` or
repeats load-config / open-git / take-lock by hand. Cheap to make: the config and
git (GitPython) are loaded when first asked for, so any module may name a path."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vaultsync.fsutil import VaultLock

if TYPE_CHECKING:
    from vaultsync.config import Config
    from vaultsync.gitvault import GitVault

STATE_DIR = ".vaultsync"


@dataclass
class Vault:
    root: Path

    @classmethod
    def open(cls, root: Path) -> Vault:
        """The vault at `root`; its configuration is loaded (and checked) now, so a missing
        or broken vault is reported before any work."""
        vault = cls(root)
        vault.config  # noqa: B018 - load it: VaultNotFound / ConfigError surface here
        return vault

    @functools.cached_property
    def config(self) -> Config:
        from vaultsync import config

        return config.load(self.root)

    def reload(self) -> Config:
        """The configuration as it is on disk now (a watcher's vault outlives edits)."""
        self.__dict__.pop("config", None)
        return self.config

    @functools.cached_property
    def git(self) -> GitVault:
        from vaultsync.gitvault import GitVault

        return GitVault(self.root)

    @property
    def host(self) -> str:
        from vaultsync import config

        return config.this_host()

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def lock_path(self) -> Path:
        return self.state_dir / "lock"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "vaultsync.log"

    @property
    def config_marker(self) -> Path:
        return self.state_dir / "config.checked"

    @property
    def cron_log(self) -> Path:
        return self.state_dir / "cron.log"

    @property
    def runs_path(self) -> Path:
        return self.state_dir / "runs.json"

    @property
    def metrics_path(self) -> Path:
        return self.state_dir / "metrics.prom"

    @contextlib.contextmanager
    def lock(self, wait_s: float = 0.0) -> Iterator[VaultLock]:
        """The one-writer lock; LockedError (exit 3) names the pid that holds it. Not
        where no vault is: its `.vaultsync/` would make `init` refuse the folder."""
        if not os.path.lexists(self.root / "vaultsync.toml"):
            from vaultsync import config

            raise config.not_found(self.root)
        lock = VaultLock(self.lock_path)
        lock.acquire(wait_s)
        try:
            yield lock
        finally:
            lock.release()

    def lock_holder(self) -> int | None:
        """The pid holding the lock now, or None when it is free."""
        return VaultLock(self.lock_path).holder()
