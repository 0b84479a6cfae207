from __future__ import annotations

from pathlib import Path

from tests.conftest import Env
from vaultsync import eventlog
from vaultsync.vault import Vault


def test_log_appends_lines_and_rotates(tmp_path: Path) -> None:
    eventlog.append(tmp_path, "sync", "first")
    log = Vault(tmp_path).log_path
    assert log.read_text().endswith("sync: first\n")
    log.write_bytes(b"x" * eventlog.MAX_BYTES)
    eventlog.append(tmp_path, "sync", "after rotation")
    assert log.read_text().endswith("sync: after rotation\n")
    assert log.with_name("vaultsync.log.1").stat().st_size == eventlog.MAX_BYTES
    for _ in range(eventlog.KEEP + 2):
        log.write_bytes(b"x" * eventlog.MAX_BYTES)
        eventlog.append(tmp_path, "sync", "again")
    kept = sorted(p.name for p in log.parent.iterdir())
    assert kept == ["vaultsync.log", "vaultsync.log.1", "vaultsync.log.2", "vaultsync.log.3"]


def test_each_sync_rotates_the_logs_cron_and_the_hooks_write(synced: Env) -> None:
    state = synced.vault / ".vaultsync"
    for name in eventlog.SIDE_LOGS:
        (state / name).write_text("x" * eventlog.MAX_BYTES)
    (state / "hook.log.2").write_text("oldest")
    (synced.home / "mem" / "n.json").write_text('{"id": "n", "memory": "new"}')
    synced.vs("sync", "-q")
    for name in eventlog.SIDE_LOGS:
        assert not (state / name).exists() and (state / f"{name}.1").stat().st_size > 0
    assert (state / "hook.log.3").read_text() == "oldest"
