"""`vaultsync watch`: sync whenever tracked files change, until SIGTERM / SIGINT.

File events are hints, not facts: each trigger runs a normal sync, which stats and
re-reads the real files (an atomic save shows up as add + temp + delete), and a sync
every few minutes regardless catches what the OS missed. The vault's lock is taken only
while syncing, so cron runs and hand-run syncs still work beside the watcher.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from vaultsync import config, eventlog
from vaultsync.config import Config
from vaultsync.errors import EXIT_OK, LockedError, VaultsyncError
from vaultsync.fsutil import VaultLock
from vaultsync.globs import GlobSet
from vaultsync.result import SyncResult
from vaultsync.vault import Vault

TICK_MS = 250  # how often the loop looks at the clock, single files and the config
LOCKED_RETRY_S = 5.0  # a cron run holds the lock: try again soon
ERROR_RETRY_S = 30.0  # a failed sync (full disk, broken config): try again, not in a tight loop
STOP_WAIT_S = 10.0  # on SIGTERM, wait at most this long for another vaultsync's lock


@dataclass(frozen=True)
class WatchOptions:
    debounce_s: float = 1.0
    max_delay_s: float = 60.0
    rescan_s: float = 300.0
    quiet: bool = False


class Trigger:
    """Debounce and batching: sync once writes pause for `debounce_s`, or `max_delay_s`
    after the first unsynced write even if they never pause (a live transcript)."""

    def __init__(self, debounce_s: float, max_delay_s: float) -> None:
        self.debounce_s, self.max_delay_s = debounce_s, max_delay_s
        self.first: float | None = None
        self.last = 0.0
        self.not_before = 0.0  # after a failure: wait before trying again

    def hint(self, now: float) -> None:
        if self.first is None:
            self.first = now
        self.last = now

    def due(self, now: float) -> bool:
        if self.first is None or now < self.not_before:
            return False
        return now - self.last >= self.debounce_s or now - self.first >= self.max_delay_s

    def clear(self) -> None:
        self.first = None

    def retry_after(self, now: float, delay: float) -> None:
        self.hint(now)
        self.not_before = now + delay


@dataclass(frozen=True)
class Watched:
    """What to watch, from the config: folders (watched by the OS) and single files (a
    stat each tick: an atomic save replaces the inode an OS watch would follow)."""

    folders: tuple[tuple[str, GlobSet, GlobSet], ...]
    files: tuple[str, ...]
    vault: str

    @classmethod
    def of(cls, cfg: Config, vault: Path) -> Watched:
        host = config.this_host()
        folders, files = [], []
        for src in cfg.sources:
            if not src.on_this_host(host):
                continue
            root = os.path.abspath(src.root)
            if src.is_single_file():
                files.append(root)
            else:
                folders.append((root, GlobSet(src.include), GlobSet(src.exclude)))
        return cls(tuple(folders), tuple(files), os.path.abspath(vault))

    def existing_folders(self) -> tuple[tuple[str, int], ...]:
        """(path, inode) of each folder source there now: a folder removed and made
        again has a new inode, and the OS watch on the old one hears nothing more."""
        found = []
        for root, _, _ in self.folders:
            with contextlib.suppress(OSError):
                st = os.stat(root)
                if stat.S_ISDIR(st.st_mode):
                    found.append((root, st.st_ino))
        return tuple(found)

    def relevant(self, path: str) -> bool:
        """Include/exclude applied before a sync is triggered; the vault's own files and
        anything in a `.git` folder never trigger."""
        if path == self.vault or path.startswith(self.vault + os.sep):
            return False
        if f"{os.sep}.git{os.sep}" in path or path.endswith(f"{os.sep}.git"):
            return False
        for root, include, exclude in self.folders:
            if path.startswith(root + os.sep):
                rel = path[len(root) + 1 :].replace(os.sep, "/")
                if include.match(rel) and not exclude.match(rel):
                    return True
        return path in self.files

    def file_stats(self) -> tuple[tuple[int, ...] | None, ...]:
        return tuple(_signature(p) for p in self.files)


def _signature(path: str) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def sync_now(vault: Vault, wait_s: float) -> SyncResult:
    """One ordinary sync, in this process (no interpreter start-up per change); its
    problems go to stderr as `vaultsync sync --quiet` prints them."""
    from vaultsync.commands.sync import report
    from vaultsync.engine import SyncOptions, sync_once

    opts = SyncOptions(wait_s=wait_s, quiet=True)
    result = sync_once(vault, opts)
    report(result, opts)
    return result


class Watcher:
    def __init__(self, vault: Path, opts: WatchOptions) -> None:
        self.vault, self.opts = vault, opts
        self.trigger = Trigger(opts.debounce_s, opts.max_delay_s)
        self.stopping = threading.Event()
        self.config_sig = _signature(str(vault / config.CONFIG_NAME))
        self.opened = Vault.open(vault)
        self.watched = Watched.of(self.opened.config, vault)
        self.file_sigs = self.watched.file_stats()
        self.last_sync = time.monotonic()
        self.polling = False

    def say(self, event: str, message: str) -> None:
        eventlog.append(self.vault, event, message)
        if not self.opts.quiet or event == "watch-error":
            print(f"vaultsync watch: {message}", file=sys.stderr, flush=True)

    def loop(self) -> None:
        self.say("watch", f"watching {self.describe()}")
        self.trigger.hint(time.monotonic())  # catch up with what changed while not watching
        watching = self.watched.existing_folders()
        while not self.stopping.is_set():
            folders = self.watched.existing_folders()
            if folders != watching:
                # A folder source came or went (a disk mounted, an agent's first run):
                # the sync that follows reports a missing one and deletes nothing of it.
                self.say("watch", f"sources changed: {len(folders)} folder(s) exist now")
                self.trigger.hint(time.monotonic())
                watching = folders
            if folders:
                self.watch_folders(folders)
            else:
                self.stopping.wait(TICK_MS / 1000)
                self.tick()
        self.sync_on_stop()

    def describe(self) -> str:
        w = self.watched
        return f"{len(w.folders)} folder(s) and {len(w.files)} file(s) for {self.vault}"

    def watch_folders(self, folders: tuple[tuple[str, int], ...]) -> None:
        """Until stopped, or until the set of folders to watch changes."""
        import watchfiles

        try:
            for changes in watchfiles.watch(
                *(root for root, _ in folders),
                watch_filter=None,  # filtered here: a filter there would starve the ticks
                debounce=TICK_MS,
                step=50,
                rust_timeout=TICK_MS,
                yield_on_timeout=True,
                stop_event=self.stopping,
                raise_interrupt=False,
                force_polling=self.polling or None,
            ):
                if any(self.watched.relevant(path) for _, path in changes):
                    self.trigger.hint(time.monotonic())
                self.tick()
                if self.watched.existing_folders() != folders:
                    return
        except (OSError, RuntimeError) as exc:
            if self.watched.existing_folders() != folders:
                return  # a watched folder went away: the loop watches what is left
            # inotify's watch limit, a file system without events.
            if not self.polling:
                self.say("watch-error", f"file events unavailable ({exc}); polling instead")
                self.polling = True
            else:
                self.say("watch-error", f"watching failed: {exc}; retrying")
                self.stopping.wait(ERROR_RETRY_S)

    def tick(self) -> None:
        now = time.monotonic()
        self.reload_if_changed()
        sigs = self.watched.file_stats()
        if sigs != self.file_sigs:
            self.file_sigs = sigs
            self.trigger.hint(now)
        if now - self.last_sync >= self.opts.rescan_s:
            self.trigger.hint(now - self.opts.debounce_s)  # due now: the periodic full scan
        if self.trigger.due(now) and not self.stopping.is_set():
            self.run_sync(wait_s=0.0)

    def reload_if_changed(self) -> None:
        sig = _signature(str(self.vault / config.CONFIG_NAME))
        if sig == self.config_sig:
            return
        self.config_sig = sig
        try:
            self.watched = Watched.of(self.opened.reload(), self.vault)
        except VaultsyncError as exc:
            self.say("watch-error", f"vaultsync.toml: {exc.message}; still watching as before")
            return
        self.file_sigs = self.watched.file_stats()
        self.trigger.not_before = 0.0  # a fixed config is worth trying at once
        self.trigger.hint(time.monotonic())

    def run_sync(self, wait_s: float) -> None:
        now = time.monotonic()
        self.trigger.clear()  # writes during the sync make the next one due
        self.last_sync = now
        try:
            with signals_kept_from_children():
                result = sync_now(self.opened, wait_s)
        except Exception as exc:  # the watcher keeps going whatever one sync hit
            self.say("watch-error", f"sync failed: {type(exc).__name__}: {exc}")
            self.trigger.retry_after(now, ERROR_RETRY_S)
            return
        if result.locked:
            # cron or a hand-run sync is at work: after it, not an error.
            self.say("watch", f"the vault is busy; trying again in {LOCKED_RETRY_S:.0f} s")
            self.trigger.retry_after(now, LOCKED_RETRY_S)
        elif result.failure is not None:
            self.say("watch-error", f"sync failed: {result.failure.message}; trying again later")
            self.trigger.retry_after(now, ERROR_RETRY_S)
        elif result.commit and not self.opts.quiet:
            counts = f"+{len(result.added)} ~{len(result.modified)} -{len(result.deleted)}"
            print(f"committed {result.commit[:10]} {counts}", flush=True)

    def sync_on_stop(self) -> None:
        """SIGTERM / SIGINT: the sync in progress has finished; sync what is pending
        (events not yet delivered included: one no-change sync costs little)."""
        self.say("watch", "stopping: a last sync of what is pending")
        self.run_sync(wait_s=STOP_WAIT_S)
        self.say("watch", "stopped")


STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


@contextmanager
def signals_kept_from_children() -> Iterator[None]:
    """Ctrl-C reaches the terminal's whole process group: the git processes a sync starts
    would die mid-commit. They are started with SIGINT/SIGTERM blocked (children inherit
    the mask); this process still hears them once the sync is done."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextmanager
def stop_on_signals(stopping: threading.Event) -> Iterator[None]:
    """The first SIGTERM / SIGINT asks the loop to stop after the sync in progress; a
    second one stops at once (the default behaviour comes back)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stopping.set()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    old = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def run(vault: Path, opts: WatchOptions) -> int:
    watcher = Watcher(vault, opts)  # a missing or broken vault is exit 2 here, at start
    with one_watcher(watcher.opened), stop_on_signals(watcher.stopping):
        watcher.loop()
    return EXIT_OK


@contextmanager
def one_watcher(vault: Vault) -> Iterator[None]:
    """A second watcher of the same vault (a systemd service and one started by hand)
    would only double every sync: it is refused. Not the vault's lock: that one is held
    only while syncing, so cron and hand-run syncs go on beside the watcher."""
    lock = VaultLock(vault.state_dir / "watch.lock")
    try:
        lock.acquire(0.0)
    except LockedError:
        pid = lock.holder()
        raise LockedError(
            f"another vaultsync watch{f' (pid {pid})' if pid else ''} is watching {vault.root}",
            hint="stop that one first (e.g. `systemctl --user stop vaultsync-watch-...`)",
        ) from None
    try:
        yield
    finally:
        lock.release()
