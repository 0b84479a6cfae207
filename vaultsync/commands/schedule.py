"""`vaultsync schedule install|remove|show`: run sync on a timer (cron, a systemd user
timer, a launchd agent), or keep `watch` running as a user service."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vaultsync import config, units
from vaultsync.errors import EXIT_OK, EXIT_USAGE, UsageError, VaultsyncError
from vaultsync.fsutil import atomic_write, read_json_object
from vaultsync.vault import Vault

BACKENDS = ("cron", "systemd", "launchd")


@dataclass(frozen=True)
class Request:
    backend: str | None = None
    every: str = "15m"
    watch: bool = False
    enable: bool = False
    quiet: bool = False


@dataclass
class Installed:
    """What one backend has of ours for a vault."""

    backend: str
    what: list[str] = field(default_factory=list)  # lines or file paths
    detail: str = ""


def install(vault: Path, req: Request) -> int:
    config.load(vault)  # a schedule for a vault that does not exist would fail forever
    backend = pick_backend(req.backend, req.watch)
    every = units.parse_every(req.every)
    cmd = units.vaultsync_command()
    units.check_runs_bare(cmd)
    if backend == "cron":
        if req.watch:
            raise UsageError(
                "cron cannot keep a watcher running",
                hint="use --backend systemd or --backend launchd with --watch",
            )
        changed = install_cron(vault, units.cron_line(every, cmd, vault))
        say(
            req,
            f"cron: {'installed' if changed else 'already installed'}: sync every "
            f"{every.text} (`crontab -l` shows it)",
        )
        return EXIT_OK
    if backend == "systemd":
        return install_systemd(vault, cmd, every, req)
    return install_launchd(vault, cmd, every, req)


def pick_backend(asked: str | None, watch: bool) -> str:
    if asked is not None:
        if asked not in BACKENDS:
            raise UsageError(f"--backend must be one of {', '.join(BACKENDS)}, not {asked!r}")
        return asked
    if sys.platform == "darwin":
        return "launchd" if watch or not shutil.which("crontab") else "cron"
    if watch or not shutil.which("crontab"):
        if shutil.which("systemctl"):
            return "systemd"
        raise UsageError(
            "neither `crontab` nor `systemctl` is on PATH here",
            hint="install cron (e.g. `apt-get install cron`), or run `vaultsync watch` yourself",
        )
    return "cron"


def say(req: Request, text: str) -> None:
    if not req.quiet:
        print(text)


# -- cron -----------------------------------------------------------------------------------


def crontab_read() -> list[str]:
    exe = _crontab()
    proc = subprocess.run([exe, "-l"], capture_output=True, text=True)
    if proc.returncode != 0:
        if "no crontab" in proc.stderr.lower():
            return []
        raise VaultsyncError(f"`crontab -l` failed: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout.splitlines()


def crontab_write(lines: list[str]) -> None:
    text = "".join(f"{line}\n" for line in lines)  # cron ignores a last line without newline
    proc = subprocess.run([_crontab(), "-"], input=text, capture_output=True, text=True)
    if proc.returncode != 0:
        raise VaultsyncError(f"`crontab -` refused the new table: {proc.stderr.strip()}")


def _crontab() -> str:
    exe = shutil.which("crontab")
    if exe is None:
        raise UsageError(
            "`crontab` is not on PATH", hint="install cron, or use --backend systemd|launchd"
        )
    return exe


def install_cron(vault: Path, line: str) -> bool:
    """Put our line in the table, leaving every other line (MAILTO, other jobs) as it is;
    returns False when it was there already."""
    lines = crontab_read()
    ours = [i for i, old in enumerate(lines) if units.is_our_cron_line(old, vault)]
    if [lines[i] for i in ours] == [line]:
        return False
    at = ours[0] if ours else len(lines)
    kept = [old for i, old in enumerate(lines) if i not in ours]
    kept.insert(min(at, len(kept)), line)
    crontab_write(kept)
    return True


def remove_cron(vault: Path) -> list[str]:
    if not shutil.which("crontab"):
        return []
    lines = crontab_read()
    kept = [line for line in lines if not units.is_our_cron_line(line, vault)]
    if len(kept) != len(lines):
        crontab_write(kept)
    return [line for line in lines if units.is_our_cron_line(line, vault)]


# -- systemd --------------------------------------------------------------------------------


def install_systemd(vault: Path, cmd: list[str], every: units.Every, req: Request) -> int:
    folder = units.systemd_dir()
    service, timer, watcher = units.systemd_names(vault)
    if req.watch:
        files = {watcher: units.watch_service(vault, cmd)}
        start = watcher
    else:
        files = {service: units.sync_service(vault, cmd), timer: units.sync_timer(vault, every)}
        start = timer
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        atomic_write(folder / name, text.encode(), mode=0o644)
    verify_units([folder / n for n in files])
    what = "watch" if req.watch else f"sync every {every.text}"
    say(req, f"systemd: wrote {', '.join(str(folder / n) for n in files)} ({what})")
    steps = [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", start],
    ]
    if req.enable:
        for step in steps:
            _run_or_explain(step)
        say(req, f"systemd: enabled and started {start}")
    else:
        say(req, "load it with:\n  " + " && ".join(shlex.join(s) for s in steps))
        say(req, "  (and `loginctl enable-linger` to run it while you are logged out)")
    return EXIT_OK


def verify_units(paths: list[Path]) -> None:
    """`systemd-analyze verify` where it exists: a unit systemd would refuse is not left
    behind looking installed. (System mode: `--user` needs a running user manager, and
    the checks of these units are the same.)"""
    exe = shutil.which("systemd-analyze")
    if exe is None:
        return
    proc = subprocess.run([exe, "verify", *map(str, paths)], capture_output=True, text=True)
    # Other units of the machine may have problems of their own: only ours count.
    ours = [line for line in proc.stderr.splitlines() if any(p.name in line for p in paths)]
    if proc.returncode != 0 and ours:
        for path in paths:
            path.unlink(missing_ok=True)
        raise VaultsyncError("systemd-analyze verify refused the units:\n" + "\n".join(ours))


def _run_or_explain(step: list[str]) -> None:
    try:
        proc = subprocess.run(step, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VaultsyncError(f"`{shlex.join(step)}` could not run: {exc}") from None
    if proc.returncode != 0:
        raise VaultsyncError(
            f"`{shlex.join(step)}` failed: {proc.stderr.strip() or proc.returncode}",
            hint="the unit files are written; run the command again in your login session",
        )


def remove_systemd(vault: Path) -> list[str]:
    folder = units.systemd_dir()
    present = [n for n in units.systemd_names(vault) if (folder / n).exists()]
    active = [n for n in present if n.endswith(".timer") or "-watch-" in n]
    if active and shutil.which("systemctl"):
        # Best effort: without a user session there is nothing running to stop.
        subprocess.run(["systemctl", "--user", "disable", "--now", *active], capture_output=True)
    for name in present:
        for wants in ("timers.target.wants", "default.target.wants"):
            (folder / wants / name).unlink(missing_ok=True)
        (folder / name).unlink()
    if present and shutil.which("systemctl"):
        subprocess.run(["systemctl", "--user", "daemon-reload"], capture_output=True)
    return [str(folder / n) for n in present]


# -- launchd --------------------------------------------------------------------------------


def install_launchd(vault: Path, cmd: list[str], every: units.Every, req: Request) -> int:
    path = units.launchd_path(vault, req.watch)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, units.launchd_plist(vault, cmd, None if req.watch else every), mode=0o644)
    what = "watch" if req.watch else f"sync every {every.text}"
    say(req, f"launchd: wrote {path} ({what})")
    step = ["launchctl", "load", "-w", str(path)]
    if req.enable:
        _run_or_explain(step)
        say(req, f"launchd: loaded {units.launchd_label(vault, req.watch)}")
    else:
        say(req, f"load it with:\n  {shlex.join(step)}")
    return EXIT_OK


def remove_launchd(vault: Path) -> list[str]:
    removed = []
    for watch in (False, True):
        path = units.launchd_path(vault, watch)
        if path.exists():
            if shutil.which("launchctl"):
                subprocess.run(["launchctl", "unload", "-w", str(path)], capture_output=True)
            path.unlink()
            removed.append(str(path))
    return removed


# -- remove and show ------------------------------------------------------------------------


def remove(vault: Path, backend: str | None = None, quiet: bool = False) -> int:
    chosen = [pick_backend(backend, False)] if backend else list(BACKENDS)
    removers = {"cron": remove_cron, "systemd": remove_systemd, "launchd": remove_launchd}
    found = False
    for name in chosen:
        for item in removers[name](vault):
            found = True
            if not quiet:
                print(f"{name}: removed {item}")
    if not found and not quiet:
        print(f"nothing was scheduled for {vault}")
    return EXIT_OK


def installed(vault: Path) -> list[Installed]:
    found = []
    if shutil.which("crontab"):
        lines = [line for line in crontab_read() if units.is_our_cron_line(line, vault)]
        if lines:
            found.append(Installed("cron", lines))
    folder = units.systemd_dir()
    names = [n for n in units.systemd_names(vault) if (folder / n).exists()]
    if names:
        wants = [n for n in names if any(folder.glob(f"*.wants/{n}"))]
        state = f"enabled: {', '.join(wants)}" if wants else "not enabled"
        found.append(Installed("systemd", [str(folder / n) for n in names], state))
    plists = [units.launchd_path(vault, w) for w in (False, True)]
    if present := [str(p) for p in plists if p.exists()]:
        found.append(Installed("launchd", present))
    return found


def show(vault: Path, json_out: bool = False) -> int:
    items = installed(vault)
    if not items and not (vault / config.CONFIG_NAME).exists():
        raise config.not_found(vault)  # "nothing is scheduled, install it" would fail too
    runs = read_runs(vault)
    if json_out:
        doc = {
            "vault": str(vault),
            "installed": [
                {"backend": i.backend, "what": i.what, "detail": i.detail} for i in items
            ],
            "runs": runs,
            "last_run_ok": last_run_ok(runs),
        }
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    if not items:
        print(f"nothing is scheduled for {vault}")
        print("  schedule it with: vaultsync schedule install   (or: vaultsync watch)")
    for item in items:
        print(f"{item.backend}:{' ' + item.detail if item.detail else ''}")
        for what in item.what:
            print(f"  {what}")
    print(describe_runs(runs))
    if items and not (vault / config.CONFIG_NAME).exists():
        print(
            f"vaultsync: warning: no vault at {vault} any more: every scheduled run fails\n"
            "  hint: remove the schedule with `vaultsync schedule remove`, or init the vault",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return EXIT_OK


def read_runs(vault: Path) -> dict[str, Any]:
    """runs.json as it is: its keys grow (last_error, ...), show whatever is there."""
    return read_json_object(Vault(vault).runs_path)


def last_run_ok(runs: dict[str, Any]) -> bool | None:
    if not runs.get("last_run"):
        return None
    if isinstance(runs.get("last_exit"), int):
        return bool(runs["last_exit"] == EXIT_OK)
    return bool(runs.get("last_success")) and runs.get("last_success") == runs.get("last_run")


def describe_runs(runs: dict[str, Any]) -> str:
    last = runs.get("last_run")
    if not last:
        return "last sync: never"
    text = f"last sync: {last} ({_age(last)})"
    code = runs.get("last_exit")
    if last_run_ok(runs):
        return text + ", succeeded"
    text += ", failed" if code is None else f", did not fully succeed (exit {code})"
    err = runs.get("last_error")
    if err and (not isinstance(err, dict) or err.get("time") in (None, last)):
        text += f": {_error_text(err)}"
    success = runs.get("last_success")
    return (
        text + "\nlast successful sync: " + (f"{success} ({_age(success)})" if success else "never")
    )


def _error_text(err: Any) -> str:
    if isinstance(err, dict):
        return str(err.get("message") or err.get("reason") or json.dumps(err))
    return str(err)


def _age(stamp: str) -> str:
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "unknown age"
    secs = int((datetime.now(UTC) - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if secs >= size:
            return f"{secs // size} {unit} ago"
    return f"{max(secs, 0)} s ago"
