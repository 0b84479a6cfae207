"""vaultsync verify: a clean vault passes; each kind of damage is found and named."""

from __future__ import annotations

import json
import os

from tests.conftest import Env

RECORD = "mem/records/second-brain/31162427-3bfd-1d33-8d00-38ec42650644.json"


def test_a_healthy_vault_verifies(synced: Env) -> None:
    out = synced.vs("verify").stdout
    assert "ok: no problems found" in out and "pending: nothing" in out


def test_pending_and_rejected_are_reported_but_not_problems(synced: Env) -> None:
    (synced.home / "mem" / "new.json").write_text("{}")
    (synced.home / RECORD).write_text("{bad")
    doc = json.loads(synced.vs("verify", "--json").stdout)
    assert doc["problems"] == []
    assert doc["pending"]["added"] == ["mem/new.json"]
    assert doc["rejected"][0]["path"] == RECORD


def test_an_invalid_file_committed_by_hand_is_a_problem(synced: Env) -> None:
    (synced.vault / RECORD).write_text("{bad")
    synced.git("commit", "-qam", "hand-made")
    doc = json.loads(synced.vs("verify", "--json", code=1).stdout)
    assert any(p.startswith(f"{RECORD}: invalid in HEAD") for p in doc["problems"])


def test_a_corrupt_object_is_found(synced: Env) -> None:
    synced.git("repack", "-a", "-d", "-q")  # every object in one pack, then damage it
    for pack in (synced.vault / ".git" / "objects" / "pack").glob("*.pack"):
        os.chmod(pack, 0o644)
        data = bytearray(pack.read_bytes())
        data[len(data) // 2] ^= 0xFF
        pack.write_bytes(bytes(data))
    out = synced.vs("verify", code=1).stdout
    assert "problem: git fsck:" in out
    assert "problem: cannot read the vault: fatal: packed object" in out
