"""Alerts and the heartbeat: the user's commands, run after a sync (an engine observer).

`notify` runs when a sync fails, a file is rejected, a push fails or memories are
forgotten, and once when things recover; the same event is not sent again within
`notify_cooldown`. `heartbeat` runs after a sync that exited 0, at most every
`heartbeat_every`, so that a dead man's switch notices when syncs stop. What was sent
when is in `.vaultsync/alerts.json`. Each command has TIMEOUT_S to finish; its failure
is logged and never fails the sync.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaultsync import eventlog
from vaultsync.clock import iso_z, utc_now
from vaultsync.errors import VaultsyncError
from vaultsync.fsutil import atomic_write, read_json_object

if TYPE_CHECKING:
    from vaultsync.result import SyncResult
    from vaultsync.vault import Vault

TIMEOUT_S = 30.0  # a notify that hangs (no network) must not hold up the next sync
ONE_OFF = ("forgot",)  # an incident, not a condition that lasts until it recovers


def state_path(vault: Vault) -> Path:
    return vault.state_dir / "alerts.json"


def load(path: Path) -> dict[str, Any]:
    return read_json_object(path)


def observe(vault: Vault, result: SyncResult) -> None:
    """Send what this run calls for (an observer of every sync)."""
    if result.dry_run or result.locked:
        return  # a dry run changed nothing; a locked run found another one at work
    try:
        cfg = vault.config
    except VaultsyncError:
        return  # the sync failed on a broken vaultsync.toml: no command to run
    if not cfg.notify and not cfg.heartbeat:
        return
    path = state_path(vault)
    before = load(path)
    doc = json.loads(json.dumps(before))  # a copy to compare with
    now = utc_now()
    if cfg.notify:
        _notify(vault, cfg.notify, cfg.notify_cooldown_s, result, doc, now)
    if cfg.heartbeat and result.ok and _due(doc.get("heartbeat"), cfg.heartbeat_every_s, now):
        if run_command(vault, cfg.heartbeat, "heartbeat", "the sync succeeded"):
            doc["heartbeat"] = iso_z(now)
    if doc != before:
        atomic_write(path, json.dumps(doc, indent=1).encode(), durable=False)


def _notify(
    vault: Vault, command: str, cooldown_s: float, r: SyncResult, doc: dict[str, Any], now: datetime
) -> None:
    sent: dict[str, str] = doc.setdefault("sent", {})
    by_event: dict[str, list[str]] = {}
    for event, message in r.events:
        by_event.setdefault(event, []).append(message)
    lasting = [e for e in by_event if e not in ONE_OFF]
    for event, messages in by_event.items():
        message = "; ".join(messages)
        if event not in ONE_OFF and not _due(sent.get(event), cooldown_s, now):
            continue
        if run_command(vault, command, event, message) and event not in ONE_OFF:
            sent[event] = iso_z(now)
    if lasting:
        doc["outage"] = sorted(set(doc.get("outage", [])) | set(lasting))
    elif doc.get("outage"):
        was = ", ".join(doc["outage"])
        if run_command(vault, command, "recovered", f"vaultsync is working again (was: {was})"):
            # A new failure after a recovery is news: it is sent at once.
            doc["outage"], doc["sent"] = [], {}


def _due(last: Any, every_s: float, now: datetime) -> bool:
    if not isinstance(last, str):
        return True
    try:
        return (now - datetime.fromisoformat(last)).total_seconds() >= every_s
    except ValueError:
        return True


def run_command(vault: Vault, command: str, event: str, message: str) -> bool:
    """Run `command` through the shell with the event in its environment; True when it
    exited 0. Its output goes to the log, never to the sync's stdout (--json)."""
    env = {
        **os.environ,
        "VAULTSYNC_EVENT": event,
        "VAULTSYNC_MESSAGE": message,
        "VAULTSYNC_VAULT": str(vault.root),
    }
    what = "heartbeat" if event == "heartbeat" else "notify"
    try:
        proc = subprocess.Popen(
            command,
            shell=True,
            env=env,
            cwd=vault.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so that a timeout ends its children (curl) too
        )
    except OSError as exc:
        eventlog.append(vault.root, f"{what}-failed", f"{event}: cannot run {command!r}: {exc}")
        return False
    try:
        out, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _kill(proc)
        eventlog.append(
            vault.root, f"{what}-failed", f"{event}: {command!r} gave no answer in {TIMEOUT_S:g} s"
        )
        return False
    if proc.returncode != 0:
        said = out.decode("utf-8", "replace").strip()[-500:]
        eventlog.append(
            vault.root, f"{what}-failed", f"{event}: {command!r} exited {proc.returncode}: {said}"
        )
        return False
    eventlog.append(vault.root, what, f"{event}: sent")
    return True


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.communicate()
