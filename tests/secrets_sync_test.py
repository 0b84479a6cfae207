"""Secrets inside a sync: block (default), warn, off."""

from __future__ import annotations

import json
import random
import string

import pytest

from tests.conftest import Env


def fake_github_token() -> str:
    rng = random.Random(7)
    return (
        "gh" + "p_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(36))
    )


def plant(env: Env) -> str:
    token = fake_github_token()
    lines = [
        json.dumps({"type": "entity", "name": "ci", "entityType": "tool", "observations": []}),
        json.dumps({"type": "entity", "name": "x", "entityType": "t", "observations": []}),
        json.dumps(
            {
                "type": "entity",
                "name": "gh",
                "entityType": "cred",
                "observations": [f"the deploy token is {token}"],
            }
        ),
    ]
    (env.home / "mem" / "mcp" / "memory.jsonl").write_text("\n".join(lines))
    return token


def set_policy(env: Env, policy: str) -> None:
    cfg = env.vault / "vaultsync.toml"
    cfg.write_text(cfg.read_text().replace('secrets = "block"', f'secrets = "{policy}"'))


def everything_in_git(env: Env) -> str:
    return env.git("log", "--all", "-p", "--format=%B")


def test_block_rejects_names_line_and_kind_and_writes_nothing_to_git(synced: Env) -> None:
    token = plant(synced)
    proc = synced.vs("sync", "--json", code=1)
    doc = json.loads(proc.stdout)
    assert doc["rejected"] == [
        {"path": "mem/mcp/memory.jsonl", "reason": "secret found: line 3: GitHub token"}
    ]
    assert token not in proc.stdout + proc.stderr
    assert token not in everything_in_git(synced)
    assert token not in (synced.vault / ".vaultsync" / "vaultsync.log").read_text()
    assert token not in (synced.vault / "mem" / "mcp" / "memory.jsonl").read_text()


@pytest.mark.parametrize("policy", ["warn", "off"])
def test_warn_and_off_commit_the_file(synced: Env, policy: str) -> None:
    set_policy(synced, policy)
    token = plant(synced)
    proc = synced.vs("sync", "--json")
    assert "mem/mcp/memory.jsonl" in json.loads(proc.stdout)["modified"]
    assert token in synced.git("show", "HEAD:mem/mcp/memory.jsonl")
    warned = "committed with secret found: line 3: GitHub token" in proc.stderr
    assert warned is (policy == "warn")
    assert token not in proc.stderr
