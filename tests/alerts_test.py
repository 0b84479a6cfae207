"""notify and heartbeat: the user's commands, run once per outage, once on recovery,
and a heartbeat at most every heartbeat_every; their failure never fails a sync."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Env


def configure(env: Env, **settings: str) -> Path:
    """Set [vault] keys; returns the file the commands append their events to."""
    sent = env.root / "sent.txt"
    config = env.vault / "vaultsync.toml"
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
    config.write_text(config.read_text().replace("[vault]\n", "[vault]\n" + lines))
    return sent


def alert_script(env: Env, name: str = "alert.sh") -> str:
    """A notify command: appends `EVENT|VAULT|MESSAGE` to sent.txt."""
    script = env.root / name
    script.write_text(
        '#!/bin/sh\necho "$VAULTSYNC_EVENT|$VAULTSYNC_VAULT|$VAULTSYNC_MESSAGE" >> '
        f"{env.root / 'sent.txt'}\n"
    )
    script.chmod(0o755)
    return str(script)


def events(sent: Path) -> list[str]:
    return [x.split("|")[0] for x in sent.read_text().splitlines()] if sent.exists() else []


def test_notify_fires_once_per_outage_and_once_on_recovery(synced: Env) -> None:
    sent = configure(synced, notify=alert_script(synced))
    source = synced.home / "mem"
    source.rename(synced.home / "unmounted")
    for _ in range(3):
        synced.vs("sync", code=1)  # the source is unavailable
    assert events(sent) == ["sync-failed"]
    line = sent.read_text()
    assert f"|{synced.vault}|" in line and "unavailable" in line
    (synced.home / "unmounted").rename(source)
    synced.vs("sync")
    synced.vs("sync")
    assert events(sent) == ["sync-failed", "recovered"]
    source.rename(synced.home / "unmounted")  # a new outage after the recovery is news
    synced.vs("sync", code=1)
    assert events(sent) == ["sync-failed", "recovered", "sync-failed"]


def test_a_rejected_file_is_sent_again_after_the_cooldown(synced: Env) -> None:
    sent = configure(synced, notify=alert_script(synced), notify_cooldown="1h")
    (synced.home / "mem" / "mcp" / "memory.jsonl").write_text("{broken\n")
    synced.vs("sync", code=1)
    synced.vs("sync", code=1)
    assert events(sent) == ["rejected"]
    state = synced.vault / ".vaultsync" / "alerts.json"
    doc = json.loads(state.read_text())
    doc["sent"]["rejected"] = "2020-01-01T00:00:00Z"  # the cooldown has passed
    state.write_text(json.dumps(doc))
    synced.vs("sync", code=1)
    assert events(sent) == ["rejected", "rejected"]


def test_a_failing_notify_is_logged_and_never_fails_the_sync(synced: Env) -> None:
    configure(synced, notify="echo no route to ntfy >&2; exit 7")
    (synced.home / "mem" / "mcp" / "memory.jsonl").write_text("{broken\n")
    out = synced.vs("sync", "--json", code=1)
    assert json.loads(out.stdout)["rejected"]  # stdout is still one JSON document
    log = (synced.vault / ".vaultsync" / "vaultsync.log").read_text()
    assert "notify-failed: rejected:" in log and "exited 7: no route to ntfy" in log


def test_heartbeat_respects_its_interval(synced: Env) -> None:
    beats = synced.root / "beats.txt"
    configure(synced, heartbeat=f"echo beat >> {beats}", heartbeat_every="1h")
    synced.vs("sync")
    synced.vs("sync")
    assert beats.read_text().splitlines() == ["beat"]
    state = synced.vault / ".vaultsync" / "alerts.json"
    doc = json.loads(state.read_text())
    doc["heartbeat"] = "2020-01-01T00:00:00Z"  # an hour and more ago
    state.write_text(json.dumps(doc))
    (synced.home / "mem" / "mcp" / "memory.jsonl").write_text("{broken\n")
    synced.vs("sync", code=1)  # not a successful sync: no heartbeat
    assert beats.read_text().splitlines() == ["beat"]
    synced.vs("sync", "--dry-run", code=1)
    (synced.home / "mem" / "mcp" / "memory.jsonl").unlink()
    synced.vs("sync")
    assert beats.read_text().splitlines() == ["beat", "beat"]


def test_forgetting_is_sent_as_forgot(env: Env) -> None:
    folder = env.home / "mem0"
    folder.mkdir()
    items = [{"id": str(i), "memory": f"likes {i}"} for i in range(10)]
    (folder / "memories.json").write_text(json.dumps(items))
    env.vs("init")
    env.vs("track", str(folder))
    env.vs("sync")
    sent = configure(env, notify=alert_script(env))
    (folder / "memories.json").write_text(json.dumps(items[:2]))
    env.vs("sync", code=1)
    assert events(sent) == ["forgot"]
    assert "restore --at" in sent.read_text()
    env.vs("sync")
    assert events(sent) == ["forgot"]  # an incident, not an outage: no "recovered"
