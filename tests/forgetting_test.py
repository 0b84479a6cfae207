"""The forgetting alarm: a memory file that lost most of its memories in one sync is
committed (history keeps them), the sync exits 1, and the printed command brings them
back."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from tests.conftest import SAMPLES, Env


def graph(env: Env, extra: int = 43) -> Path:
    """The MCP server's own memory.jsonl plus `extra` entities in its format (46 in all),
    tracked as a single-file source and synced."""
    folder = env.home / "mcp"
    folder.mkdir()
    lines = (SAMPLES / "mcp" / "memory.jsonl").read_text().splitlines()
    for i in range(extra):
        entity = {"type": "entity", "name": f"topic_{i}", "entityType": "topic",
                  "observations": [f"fact {i}"]}  # fmt: skip
        lines.insert(3, json.dumps(entity, separators=(",", ":")))
    path = folder / "memory.jsonl"
    path.write_text("\n".join(lines))  # the server writes no final newline
    env.vs("init")
    env.vs("track", str(path), "--name", "mcp")
    env.vs("sync")
    return path


def entities(text: str) -> set[str]:
    return {
        json.loads(x)["name"]
        for x in text.splitlines()
        if x.strip() and json.loads(x)["type"] == "entity"
    }


def restore_line(stderr: str) -> list[str]:
    m = re.search(r"to bring them back: (vaultsync .+)", stderr)
    assert m, stderr
    return shlex.split(m.group(1))[1:]  # without the program name: env.vs adds it


def test_a_graph_wipe_is_committed_exits_1_and_the_printed_command_undoes_it(env: Env) -> None:
    path = graph(env)
    before = path.read_text()
    previous = env.git("rev-parse", "HEAD").strip()
    kept = [x for x in before.splitlines() if "topic_" not in x]
    path.write_text("\n".join(kept))  # 43 of 46 entities gone

    wipe = env.vs("sync", code=1)
    assert "forgot: mcp/memory.jsonl lost 43 of its 46 memories" in wipe.stderr
    assert f"restore --at {previous[:12]} --merge mcp/memory.jsonl" in wipe.stderr
    assert entities(env.git("show", "HEAD:mcp/memory.jsonl")) == entities("\n".join(kept))

    env.vs(*restore_line(wipe.stderr), "--yes")
    assert entities(path.read_text()) == entities(before)
    status = env.vs("status").stdout
    assert "mcp/memory.jsonl" in status and "43" in status


def test_sync_json_and_the_next_sync_after_a_wipe(env: Env) -> None:
    path = graph(env)
    path.write_text("")  # truncated to nothing: the JSON Lines file is still valid
    doc = json.loads(env.vs("sync", "--json", code=1).stdout)
    assert doc["commit"] is not None
    [forgot] = doc["forgotten"]
    assert (forgot["path"], forgot["before"], forgot["after"]) == ("mcp/memory.jsonl", 46, 0)
    env.vs("sync")  # nothing new forgotten: exit 0 again


def test_pruning_a_few_memories_is_not_an_alarm(env: Env) -> None:
    path = graph(env)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(x for x in lines if not re.search(r'"topic_[0-3]"', x)))
    out = env.vs("sync")  # 4 of 46 gone: fewer than 5
    assert "forgot" not in out.stderr


def test_an_emptied_mem0_file_that_is_rejected_still_raises_the_alarm(env: Env) -> None:
    folder = env.home / "mem0"
    folder.mkdir()
    items = [{"id": str(i), "memory": f"likes {i}"} for i in range(8)]
    (folder / "memories.json").write_text(json.dumps(items))
    env.vs("init")
    env.vs("track", str(folder))
    env.vs("sync")
    (folder / "memories.json").write_text("")
    out = env.vs("sync", code=1)
    assert "rejected: mem0/memories.json" in out.stderr
    assert "forgot: mem0/memories.json lost 8 of its 8 memories" in out.stderr
    assert json.loads(env.git("show", "HEAD:mem0/memories.json")) == items


def test_a_lower_forget_alert_catches_a_smaller_wipe(env: Env) -> None:
    path = graph(env)
    config = env.vault / "vaultsync.toml"
    config.write_text(config.read_text().replace("[vault]", "[vault]\nforget_alert = 0.1"))
    lines = path.read_text().splitlines()
    path.write_text("\n".join(x for x in lines if not re.search(r'"topic_[0-5]"', x)))
    out = env.vs("sync", code=1)  # 6 of 46 (13%) is more than 10%
    assert "lost 6 of its 46 memories" in out.stderr


def test_a_deleted_memory_file_is_forgetting_too_and_comes_back(env: Env) -> None:
    folder = env.home / "agent"
    folder.mkdir()
    items = [{"id": str(i), "memory": f"likes {i}"} for i in range(8)]
    (folder / "memories.json").write_text(json.dumps(items))
    (folder / "notes.json").write_text("{}")
    env.vs("init")
    env.vs("track", str(folder))
    env.vs("sync")
    (folder / "memories.json").unlink()
    out = env.vs("sync", code=1)
    assert "forgot: agent/memories.json lost 8 of its 8 memories" in out.stderr
    assert "agent/memories.json" not in env.head_files()
    env.vs(*restore_line(out.stderr), "--yes")
    assert json.loads((folder / "memories.json").read_text()) == items
