"""runs.json and vaultsync's other small files of its own: a FIFO, a folder or garbage in
their place never hangs a cron job and never fails a sync."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.conftest import Env

OWN = ["runs.json", "alerts.json", "metrics.json", "config.checked"]


@pytest.mark.parametrize("damage", ["fifo", "folder", "garbage", "a list"])
def test_damaged_run_records_cost_nothing(synced: Env, damage: str) -> None:
    state = synced.vault / ".vaultsync"
    for name in OWN:
        path = state / name
        if path.exists():
            path.unlink()
        if damage == "fifo":
            os.mkfifo(path)  # reading it the plain way blocks until a writer comes: never
        elif damage == "folder":
            path.mkdir()
        else:
            path.write_text("{not json" if damage == "garbage" else "[1, 2]")
    (synced.home / "mem" / "new.json").write_text('{"id": "n1", "memory": "likes tea"}')
    out = synced.vs("sync", timeout=60).stdout
    assert "committed" in out and "mem/new.json" in synced.head_files()
    runs = state / "runs.json"
    if damage == "folder":
        # A folder of someone else's is never deleted, so the run cannot be recorded:
        # health says so rather than calling the backup current.
        assert runs.is_dir()
        synced.vs("health", code=1, timeout=60)
        shutil.rmtree(runs)
        synced.vs("sync", timeout=60)
    assert json.loads(runs.read_text())["last_exit"] == 0
    health = json.loads(synced.vs("health", "--json", timeout=60).stdout)
    assert health["ok"] is True, health


def test_a_fifo_in_place_of_the_config_is_a_config_error_not_a_hang(synced: Env) -> None:
    config = synced.vault / "vaultsync.toml"
    config.unlink()
    os.mkfifo(config)
    err = synced.vs("status", code=2, timeout=60).stderr
    assert f"{config} is not a regular file" in err
