"""`vaultsync health`: 0 while backups happen, 1 saying what is wrong once they stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.conftest import Env


def age_runs(env: Env, hours: float) -> None:
    """Make the last sync look `hours` old, as when cron stopped running it."""
    path = env.vault / ".vaultsync" / "runs.json"
    doc = json.loads(path.read_text())
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - hours * 3600))
    doc.update(last_run=stamp, last_success=stamp)
    path.write_text(json.dumps(doc))


def test_health_goes_from_0_to_1_when_syncs_stop(synced: Env) -> None:
    assert synced.vs("health").stdout.startswith("ok")
    age_runs(synced, 11 * 24)
    out = synced.vs("health", code=1).stdout
    assert "the last successful sync was 11 days ago" in out
    assert "hint:" in out
    assert "health:    the last successful sync was 11 days ago" in synced.vs("status").stdout
    synced.vs("sync")
    synced.vs("health")


def test_health_json_for_monitors(synced: Env) -> None:
    age_runs(synced, 2)
    doc = json.loads(synced.vs("health", "--json", "--max-age", "3h").stdout)
    assert doc["ok"] is True and doc["problems"] == []
    doc = json.loads(synced.vs("health", "--json", "--max-age", "1h", code=1).stdout)
    assert [p["check"] for p in doc["problems"]] == ["stale"]


def test_a_vault_never_synced_is_unhealthy(env: Env) -> None:
    env.vs("init")
    assert "no sync has succeeded yet" in env.vs("health", code=1).stdout


def test_a_rejected_file_is_a_problem_until_fixed(synced: Env) -> None:
    bad = synced.home / "mem" / "mcp" / "memory.jsonl"
    good = bad.read_text()
    bad.write_text("{not json\n")
    synced.vs("sync", code=1)
    out = synced.vs("health", code=1).stdout
    assert "mem/mcp/memory.jsonl is rejected" in out
    bad.write_text(good)
    synced.vs("sync")
    synced.vs("health")


def test_a_full_disk_and_bad_arguments(synced: Env) -> None:
    out = synced.vs("health", "--min-free", "1000000TiB", code=1).stdout
    assert "the vault's disk has" in out
    err = synced.vs("health", "--max-age", "soon", code=2).stderr
    assert "--max-age: 'soon' is not a duration" in err
    synced.vs("health", "--min-free", "lots", code=2)


def test_a_lock_held_too_long_is_stuck(synced: Env) -> None:
    lock = synced.vault / ".vaultsync" / "lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time\n"
         f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\n"
         "os.write(fd, str(os.getpid()).encode())\n"
         "print('held', flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        synced.vs("health")  # held for a moment: a sync at work
        old = time.time() - 2 * 3600 - 300
        os.utime(lock, (old, old))
        out = synced.vs("health", code=1).stdout
        assert f"a sync (pid {holder.pid}) has held the vault's lock for 2 h" in out
    finally:
        holder.kill()
        holder.wait()
    synced.vs("health")


def test_commits_that_cannot_be_pushed_are_a_problem(synced: Env) -> None:
    synced.git("remote", "add", "origin", str(synced.root / "nowhere.git"))
    config = synced.vault / "vaultsync.toml"
    config.write_text(config.read_text().replace("[vault]", '[vault]\nremote = "origin"'))
    synced.vs("sync", code=4)
    time.sleep(1.5)  # so that the unpushed commit is older than --max-age 1s
    out = synced.vs("health", "--max-age", "1s", code=1).stdout
    assert "commit(s) not pushed to 'origin'" in out
