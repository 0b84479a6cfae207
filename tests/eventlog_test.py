from __future__ import annotations

from pathlib import Path

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
