"""What `schedule` and `hooks` write: the command line that starts vaultsync from a bare
environment, the schedule interval, the cron line, systemd units and the launchd plist.

Pure text and data; commands/schedule.py decides where it goes.
"""

from __future__ import annotations

import hashlib
import os
import plistlib
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from vaultsync.errors import UsageError
from vaultsync.vault import Vault

# What cron gives a job on Debian and macOS: a command found only through the user's
# shell PATH (~/.local/bin, a venv) is "not found" there.
CRON_PATH = "/usr/bin:/bin"
# A sync that meets the watcher (or a hand-run sync) at work waits for it instead of
# failing with exit 3 and a mail.
SCHEDULED_WAIT_S = 60
_EVERY_RE = re.compile(r"\s*(\d+)\s*(s|m|min|h|d)\s*\Z")


def vaultsync_command() -> list[str]:
    """The absolute command that runs this vaultsync without the user's shell PATH: the
    entry point installed beside this interpreter (a venv, pipx), else the interpreter
    itself with `-m vaultsync`."""
    beside = Path(sys.executable).parent / "vaultsync"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    return [sys.executable, "-m", "vaultsync"]


def check_runs_bare(cmd: list[str]) -> None:
    """Run `cmd --help` with cron's environment: a schedule that would fail with
    "not found" or "No module named vaultsync" is refused now, not discovered in a week."""
    env = {"PATH": CRON_PATH, "HOME": os.path.expanduser("~"), "LC_ALL": "C.UTF-8", **job_env()}
    try:
        proc = subprocess.run(
            [*cmd, "--help"], env=env, cwd="/", capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"cannot run {shlex.join(cmd)}: {exc}") from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise UsageError(
            f"{shlex.join(cmd)} does not run without your shell's environment: {detail[0]}",
            hint="install vaultsync into a virtual environment or with pipx, then run "
            "`schedule install` with that vaultsync",
        )


def host_env() -> dict[str, str]:
    """$VAULTSYNC_HOST when the user set it: cron and systemd do not read the shell's
    profile, and without it a source bound to this host would be skipped silently."""
    host = os.environ.get("VAULTSYNC_HOST")
    return {"VAULTSYNC_HOST": host} if host else {}


def job_env() -> dict[str, str]:
    """What a scheduled job needs beyond cron's bare environment: $VAULTSYNC_HOST, and a
    PATH that reaches the git found now when it lives elsewhere (/usr/local/bin...)."""
    env = host_env()
    git = shutil.which("git")
    folder = os.path.dirname(git) if git else ""
    if folder and folder not in CRON_PATH.split(":"):
        env["PATH"] = f"{folder}:{CRON_PATH}"
    return env


def unit_id(vault: Path) -> str:
    """A short stable name for one vault's units: several vaults can be scheduled."""
    return hashlib.sha256(str(vault).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Every:
    """A schedule interval that cron, systemd's OnCalendar and launchd all run evenly."""

    seconds: int
    text: str

    @property
    def cron(self) -> str:
        minutes = self.seconds // 60
        if minutes < 60:
            return f"*/{minutes} * * * *" if minutes > 1 else "* * * * *"
        hours = minutes // 60
        if hours < 24:
            return f"0 */{hours} * * *" if hours > 1 else "0 * * * *"
        return "0 0 * * *"

    @property
    def on_calendar(self) -> str:
        minutes = self.seconds // 60
        if minutes < 60:
            return f"*-*-* *:00/{minutes}:00"
        hours = minutes // 60
        if hours < 24:
            return f"*-*-* 00/{hours}:00:00"
        return "*-*-* 00:00:00"


def parse_every(text: str) -> Every:
    m = _EVERY_RE.match(text)
    if not m:
        raise UsageError(f"--every {text!r} is not an interval", hint="e.g. --every 5m, 15m, 1h")
    n, unit = int(m.group(1)), m.group(2)
    if unit == "s" or n == 0:
        raise UsageError(
            f"--every {text}: cron and systemd timers run at most once a minute",
            hint="use --every 1m or more, or `vaultsync watch` to sync as files change",
        )
    if unit in ("m", "min"):
        if n < 60 and 60 % n == 0:
            return Every(n * 60, f"{n}m")
        if n % 60 == 0:
            return parse_every(f"{n // 60}h")
        raise UsageError(
            f"--every {text}: cron can only run every N minutes evenly when N divides 60",
            hint="use 1m, 2m, 3m, 4m, 5m, 6m, 10m, 12m, 15m, 20m or 30m, or hours",
        )
    if unit == "h":
        if n < 24 and 24 % n == 0:
            return Every(n * 3600, f"{n}h")
        if n == 24:
            return Every(86400, "1d")
        raise UsageError(
            f"--every {text}: cron can only run every N hours evenly when N divides 24",
            hint="use 1h, 2h, 3h, 4h, 6h, 8h, 12h or 1d",
        )
    if n == 1:
        return Every(86400, "1d")
    raise UsageError(f"--every {text}: at most once a day (1d)", hint="use --every 1d")


def sync_args(cmd: list[str], vault: Path) -> list[str]:
    return [*cmd, "sync", "--quiet", "--wait", str(SCHEDULED_WAIT_S), "--vault", str(vault)]


# -- cron -----------------------------------------------------------------------------------


def cron_marker(vault: Path) -> str:
    return f"# vaultsync: {vault}"


def cron_line(every: Every, cmd: list[str], vault: Path) -> str:
    """One crontab line. A successful run prints nothing (the sync logs itself in
    .vaultsync/vaultsync.log); a failing run's output is appended to .vaultsync/cron.log
    and printed, so cron mails it: mail means something needs you."""
    env = "".join(f"{k}={shlex.quote(v)} " for k, v in job_env().items())
    run = env + shlex.join(sync_args(cmd, vault))
    log = shlex.quote(str(Vault(vault).cron_log))
    shell = (
        f"out=$({run} 2>&1) || {{ rc=$?; printf '%s exit %s\\n%s\\n' "
        f'"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$rc" "$out" | tee -a {log}; }}'
    )
    # cron turns an unescaped % into a newline: every % must reach the shell escaped.
    return f"{every.cron} {shell} {cron_marker(vault)}".replace("%", "\\%")


def is_our_cron_line(line: str, vault: Path) -> bool:
    return line.rstrip().endswith(cron_marker(vault).replace("%", "\\%"))


def cron_command(line: str) -> str:
    """What cron hands to /bin/sh for a line of ours: the fields dropped, \\% unescaped."""
    return line.split(None, 5)[5].replace("\\%", "%")


# -- systemd --------------------------------------------------------------------------------


def systemd_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(base) / "systemd" / "user"


def systemd_names(vault: Path) -> tuple[str, str, str]:
    """(sync service, its timer, watch service) for this vault."""
    uid = unit_id(vault)
    return f"vaultsync-{uid}.service", f"vaultsync-{uid}.timer", f"vaultsync-watch-{uid}.service"


def _exec_quote(arg: str) -> str:
    # systemd expands % specifiers and $VARS in ExecStart, and splits on spaces.
    arg = arg.replace("%", "%%").replace("$", "$$")
    if re.fullmatch(r"[A-Za-z0-9_./:=@+,-]+", arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _service(vault: Path, what: str, args: list[str], extra: list[str]) -> str:
    env = [f"Environment={_exec_quote(f'{k}={v}')}" for k, v in job_env().items()]
    lines = [
        cron_marker(vault),
        "[Unit]",
        f"Description=vaultsync: {what} {vault}",
        "",
        "[Service]",
        *extra,
        f"ExecStart={' '.join(_exec_quote(a) for a in args)}",
        *env,
    ]
    return "\n".join(lines) + "\n"


def sync_service(vault: Path, cmd: list[str]) -> str:
    return _service(vault, "back up memory files into", sync_args(cmd, vault), ["Type=oneshot"])


def sync_timer(vault: Path, every: Every) -> str:
    service = systemd_names(vault)[0]
    return (
        f"{cron_marker(vault)}\n[Unit]\nDescription=vaultsync every {every.text}: {vault}\n\n"
        f"[Timer]\nOnCalendar={every.on_calendar}\n"
        "# A laptop that slept through a run catches up when it wakes.\nPersistent=true\n"
        f"Unit={service}\n\n[Install]\nWantedBy=timers.target\n"
    )


def watch_service(vault: Path, cmd: list[str]) -> str:
    args = [*cmd, "watch", "--vault", str(vault)]
    # KillMode=mixed: `systemctl stop` signals the watcher only, which finishes its sync;
    # the default would also kill the git processes of the commit in progress.
    extra = ["Type=simple", "Restart=on-failure", "RestartSec=10", "KillMode=mixed"]
    body = _service(vault, "watch memory files and back them up into", args, extra)
    return body + "\n[Install]\nWantedBy=default.target\n"


# -- launchd --------------------------------------------------------------------------------


def launchd_label(vault: Path, watch: bool) -> str:
    return f"io.vaultsync.{'watch' if watch else 'sync'}.{unit_id(vault)}"


def launchd_path(vault: Path, watch: bool) -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{launchd_label(vault, watch)}.plist"


def launchd_plist(vault: Path, cmd: list[str], every: Every | None) -> bytes:
    """StartInterval for a timer; KeepAlive (restart when it exits) for the watcher."""
    watch = every is None
    args = sync_args(cmd, vault) if every else [*cmd, "watch", "--vault", str(vault)]
    doc: dict[str, object] = {
        "Label": launchd_label(vault, watch),
        "ProgramArguments": args,
        "WorkingDirectory": "/",
        "StandardOutPath": str(Vault(vault).state_dir / "launchd.log"),
        "StandardErrorPath": str(Vault(vault).state_dir / "launchd.log"),
        "EnvironmentVariables": {"PATH": CRON_PATH, **job_env()},
        "ProcessType": "Background",
    }
    if every is None:
        # Restarted when it fails; `launchctl bootout` (SIGTERM, exit 0) stops it for good.
        doc.update(RunAtLoad=True, KeepAlive={"SuccessfulExit": False})
    else:
        doc.update(StartInterval=every.seconds, RunAtLoad=False)
    return plistlib.dumps(doc)
