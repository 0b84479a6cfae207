from __future__ import annotations

import json

from tests.conftest import Env

MCP = "mem/mcp/memory.jsonl"


def edit_mcp(env: Env, text: str) -> None:
    (env.home / "mem" / "mcp" / "memory.jsonl").write_text(text)


def test_log_lists_commits_newest_first_with_files(synced: Env) -> None:
    edit_mcp(synced, '{"type":"entity","name":"a","entityType":"t","observations":[]}')
    synced.vs("sync")
    doc = json.loads(synced.vs("log", "--json").stdout)
    assert [e["subject"].split()[-3:] for e in doc[:2]] == [["+0", "~1", "-0"], ["+7", "~0", "-0"]]
    assert doc[0]["files"] == [MCP]
    assert doc[0]["commit"] == synced.git("rev-parse", "HEAD").strip()
    human = synced.vs("log", "-n", "1").stdout
    assert f"M {MCP}" in human and "+0 ~1 -0" in human


def test_log_path_as_vault_path_or_source_path(synced: Env) -> None:
    edit_mcp(synced, '{"type":"entity","name":"a","entityType":"t","observations":[]}')
    synced.vs("sync")
    (synced.home / "mem" / "other.json").write_text("{}")
    synced.vs("sync")
    by_vault = json.loads(synced.vs("log", MCP, "--json").stdout)
    by_disk = json.loads(synced.vs("log", str(synced.home / MCP), "--json").stdout)
    assert by_vault == by_disk
    assert len(by_vault) == 2  # the import and the edit, not the commit that added other.json
    assert all(MCP in e["files"] for e in by_vault)


def test_log_rejected_shows_what_was_kept_aside(synced: Env) -> None:
    assert "nothing was rejected" in synced.vs("log", "--rejected").stdout
    (synced.home / "mem" / "bad.json").write_text("{oops")
    synced.vs("sync", code=1)
    doc = json.loads(synced.vs("log", "--rejected", "--json").stdout)
    assert doc[0]["subject"] == "vaultsync: rejected mem/bad.json"
    assert doc[0]["files"] == ["mem/bad.json"]


def test_log_rejected_lists_a_secret_that_status_lists(synced: Env) -> None:
    from tests.secrets_sync_test import plant

    token = plant(synced)
    synced.vs("sync", code=1)
    assert "mem/mcp/memory.jsonl" in synced.vs("status").stdout
    human = synced.vs("log", "--rejected").stdout
    assert "mem/mcp/memory.jsonl" in human and "not kept" in human
    assert token not in human
    doc = json.loads(synced.vs("log", "--rejected", "--json").stdout)
    assert doc[0]["files"] == [MCP] and doc[0]["kept"] is False and doc[0]["commit"] is None


def test_log_into_a_pipe_closed_early_exits_quietly(env: Env) -> None:
    env.records("r", 4000)  # a log longer than the pipe's buffer
    proc = env.vs("log", prefix=("sh", "-c", '"$@" | head -n 1', "sh"))
    assert proc.stdout.startswith(env.git("rev-parse", "HEAD")[:10])
    assert proc.stderr == ""
