"""restore --merge through the command, per format: nothing learned since is lost."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import SAMPLES, Env

MCP = "mem/mcp/memory.jsonl"
MEM0 = "mem/mem0/memories.json"
EXPORT = "mem/export/export.json"
RECORD = "mem/records/second-brain/31162427-3bfd-1d33-8d00-38ec42650644.json"


def lines(path: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.splitlines() if x.strip()]


def test_mcp_graph_wiped_by_the_agent_comes_back_without_losing_new_memories(synced: Env) -> None:
    at = synced.git("rev-parse", "HEAD").strip()
    path = synced.home / MCP
    graph = lines(path.read_text())
    ada = graph[0]
    # The agent wipes the graph but for Ada, to whom it adds an observation, and learns
    # a new entity.
    ada_now = {**ada, "observations": [*ada["observations"], "switched to light mode"]}
    new = {"type": "entity", "name": "Grace", "entityType": "person", "observations": ["x"]}
    path.write_text("\n".join(json.dumps(x, separators=(",", ":")) for x in (ada_now, new)))
    synced.vs("sync")
    dry = synced.vs("restore", "--at", at, MCP, "--merge", "--dry-run").stdout
    assert "+ entity vaultsync (project)" in dry
    assert "+ relation vaultsync → Postgres (does_not_depend_on)" in dry
    assert "Grace" not in dry  # what was learned since is not touched
    assert (synced.home / MCP).read_text().count("\n") == 1  # dry run changed nothing
    synced.vs("restore", "--at", at, MCP, "--merge", "--yes")
    merged = lines(path.read_text())
    names = [x.get("name") for x in merged if x["type"] == "entity"]
    assert set(names) == {"Ada_Lovelace", "vaultsync", "Postgres", "Grace"}
    relations = [x for x in merged if x["type"] == "relation"]
    assert len(relations) == 2
    (ada_merged,) = [x for x in merged if x.get("name") == "Ada_Lovelace"]
    assert ada_merged["observations"] == ada_now["observations"]  # a set: nothing duplicated
    # The server's own style: compact separators, no final newline.
    assert not path.read_bytes().endswith(b"\n") and '{"type":"entity"' in path.read_text()


def test_mem0_half_wiped(synced: Env) -> None:
    at = synced.git("rev-parse", "HEAD").strip()
    path = synced.home / MEM0
    doc = json.loads(path.read_text())
    before = [m["id"] for m in doc["results"]]
    doc["results"] = doc["results"][: len(before) // 2] + [
        {"id": "new-1", "memory": "Learned today", "hash": None}
    ]
    path.write_text(json.dumps(doc, indent=2))
    synced.vs("sync")
    synced.vs("restore", "--at", at, MEM0, "--merge", "--yes")
    ids = [m["id"] for m in json.loads(path.read_text())["results"]]
    assert set(ids) == {*before, "new-1"}


def test_export_memories_by_id_and_conflict_rules(synced: Env) -> None:
    at = synced.git("rev-parse", "HEAD").strip()
    path = synced.home / EXPORT
    doc = json.loads(path.read_text())
    first, *rest = doc["memories"]
    changed = {**first, "content": "changed since"}
    doc["memories"] = [changed]
    path.write_text(json.dumps(doc, indent=2))
    synced.vs("sync")
    synced.vs("restore", "--at", at, EXPORT, "--merge", "--yes")
    merged = {m["id"]: m for m in json.loads(path.read_text())["memories"]}
    assert set(merged) == {first["id"], *(m["id"] for m in rest)}
    assert merged[first["id"]]["content"] == "changed since"  # keep: the current version
    synced.vs("restore", "--at", at, EXPORT, "--merge", "--conflict", "theirs", "--yes")
    merged = {m["id"]: m for m in json.loads(path.read_text())["memories"]}
    assert merged[first["id"]]["content"] == first["content"]  # theirs: WHEN's version


def test_a_deleted_record_file_comes_back(synced: Env) -> None:
    at = synced.git("rev-parse", "HEAD").strip()
    (synced.home / RECORD).unlink()
    synced.vs("sync")
    synced.vs("restore", "--at", at, "mem/records", "--merge", "--yes")
    assert (synced.home / RECORD).read_bytes() == (
        SAMPLES / RECORD.removeprefix("mem/")
    ).read_bytes()


def test_formats_without_identity_are_refused_naming_the_file(env: Env) -> None:
    mem = env.home / "plain"
    mem.mkdir()
    (mem / "settings.json").write_text('{"theme": "dark"}')
    env.vs("init")
    env.vs("track", str(mem))
    env.vs("sync")
    at = env.git("rev-parse", "HEAD").strip()
    (mem / "settings.json").write_text('{"theme": "light"}')
    err = env.vs("restore", "--at", at, "plain/settings.json", "--merge", "--yes", code=2).stderr
    assert "plain/settings.json: --merge needs memories with an identity" in err
    assert (mem / "settings.json").read_text() == '{"theme": "light"}'


@pytest.mark.parametrize("bad", [["--conflict", "theirs"], ["--conflict", "mine", "--merge"]])
def test_conflict_option_errors(synced: Env, bad: list[str]) -> None:
    synced.vs("restore", "--at", "HEAD", MCP, *bad, code=2)
