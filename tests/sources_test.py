from __future__ import annotations

import json
import os
from datetime import datetime

from tests.conftest import HOST, Env


def test_sources_lists_every_source_with_its_settings_and_files(env: Env) -> None:
    mem = env.memories()
    single = env.home / "graph.jsonl"
    single.write_text('{"type":"entity","name":"n","entityType":"t","observations":[]}\n')
    env.vs("init", "-q")
    env.vs("track", str(mem), "--exclude", "export/**", "-q")
    env.vs("track", str(single), "--any-host", "--schema", "mcp-knowledge-graph", "-q")
    os.utime(single, (1_700_000_000, 1_700_000_000))
    docs = {d["name"]: d for d in json.loads(env.vs("sources", "--json").stdout)}
    on_disk = [p for p in mem.rglob("*.json*") if "export" not in p.parts]
    folder = docs["mem"]
    assert folder["path"] == "~/mem" and folder["kind"] == "folder" and folder["host"] == HOST
    assert folder["include"] == ["**/*.json", "**/*.jsonl"]
    assert folder["exclude"] == ["export/**"]
    assert folder["schema"] == "auto" and folder["deletions"] == "follow"
    assert folder["files"] == len(on_disk)
    newest = max(p.stat().st_mtime for p in on_disk)
    assert datetime.fromisoformat(folder["last_change"]).timestamp() == int(newest)
    file_ = docs["graph.jsonl"]
    assert file_["kind"] == "file" and file_["host"] is None and file_["files"] == 1
    assert file_["schema"] == "mcp-knowledge-graph"
    assert file_["last_change"] == "2023-11-14T22:13:20+00:00"
    text = env.vs("sources").stdout
    assert "mem: ~/mem" in text and "exclude:     export/**" in text
    assert f"files:       {len(on_disk)}" in text
    assert "graph.jsonl: ~/graph.jsonl" in text and "host:        any" in text


def test_sources_says_what_is_not_synced_here_or_unavailable(env: Env) -> None:
    gone = env.home / "gone"
    gone.mkdir()
    env.vs("init", "-q")
    env.vs("track", str(gone), "-q")
    gone.rmdir()
    env.env["VAULTSYNC_HOST"] = "other"
    text = env.vs("sources").stdout
    assert f"host:        {HOST} (not this machine: not synced here)" in text
    assert "unavailable: ~/gone: No such file or directory" in text


def test_sources_of_an_empty_vault_says_how_to_add_one(env: Env) -> None:
    env.vs("init", "-q")
    assert "no sources; add one with `vaultsync track PATH`" in env.vs("sources").stdout
    assert json.loads(env.vs("sources", "--json").stdout) == []


def test_status_shows_one_line_per_source(synced: Env) -> None:
    (synced.home / "mem" / "new.json").write_text('{"id": "n", "content": "c"}')
    other = synced.home / "elsewhere"
    other.mkdir()
    synced.vs("track", str(other), "--name", "empty", "-q")
    synced.env["VAULTSYNC_HOST"] = "desktop"  # the same folder on another machine
    synced.vs("track", str(other), "--name", "desk", "-q")
    synced.env["VAULTSYNC_HOST"] = HOST
    out = synced.vs("status").stdout
    assert "sources:\n  mem: ~/mem (folder, 8 files, 1 pending)" in out
    assert "  empty: ~/elsewhere (folder, 0 files)" in out
    assert "  desk: ~/elsewhere (folder, host desktop: not synced on this machine)" in out
    doc = json.loads(synced.vs("status", "--json").stdout)
    assert [s["name"] for s in doc["sources"]] == ["mem", "empty", "desk"]
