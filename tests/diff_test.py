"""vaultsync diff: changes as memories, through the command."""

from __future__ import annotations

import json

from tests.conftest import Env

MCP = "mem/mcp/memory.jsonl"
RECORD = "mem/records/second-brain/31162427-3bfd-1d33-8d00-38ec42650644.json"


def add_observation(env: Env) -> None:
    path = env.home / MCP
    graph = [json.loads(x) for x in path.read_text().splitlines()]
    graph[0]["observations"].append("asked for weekly summaries")
    graph.append({"type": "entity", "name": "Grace", "entityType": "person", "observations": []})
    path.write_text("\n".join(json.dumps(x) for x in graph))


def test_diff_head_against_disk_speaks_in_memories(synced: Env) -> None:
    add_observation(synced)
    out = synced.vs("diff").stdout
    assert f"{MCP}: +1 entity, 1 entity changed, +1 observation" in out
    assert "+ entity Grace (person)" in out
    assert "asked for weekly summaries" in out


def test_diff_between_two_commits_and_json(synced: Env) -> None:
    first = synced.git("rev-parse", "HEAD").strip()
    add_observation(synced)
    (synced.home / RECORD).write_text(
        json.dumps(
            {
                "id": "31162427-3bfd-1d33-8d00-38ec42650644",
                "content": "changed",
                "timestamp": 1764600000,
                "metadata": {"project": "second-brain", "source": "agent"},
            }
        )
    )
    synced.vs("sync")
    doc = json.loads(synced.vs("diff", "--from", first, "--to", "HEAD", "--json").stdout)
    summaries = {f["path"]: f["summary"] for f in doc["files"]}
    assert summaries == {
        MCP: "+1 entity, 1 entity changed, +1 observation",
        RECORD: "memory changed: content",
    }
    assert doc["from"] == first and doc["to"] == synced.git("rev-parse", "HEAD").strip()


def test_diff_narrowed_to_a_path_and_nothing_changed(synced: Env) -> None:
    add_observation(synced)
    assert synced.vs("diff", "mem/records").stdout.strip() == "no changes"
    out = synced.vs("diff", str(synced.home / MCP)).stdout
    assert out.startswith(f"{MCP}: ")


def test_diff_reports_an_invalid_file_instead_of_failing(synced: Env) -> None:
    (synced.home / RECORD).write_text("{broken")
    out = synced.vs("diff").stdout
    assert f"{RECORD}: not valid after: " in out
