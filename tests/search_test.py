"""`vaultsync search`: when a memory holding TEXT appeared, changed or disappeared."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

from tests.conftest import SAMPLES, Env

GRAPH = "mem/memory.jsonl"


def graph_lines(*entities: tuple[str, list[str]]) -> str:
    return "\n".join(
        json.dumps({"type": "entity", "name": n, "entityType": "person", "observations": obs})
        for n, obs in entities
    )


def tracked_graph(env: Env) -> Path:
    folder = env.home / "mem"
    folder.mkdir()
    path = folder / "memory.jsonl"
    path.write_text(graph_lines(("Ada", ["writes Python"]), ("Grace", ["likes COBOL"])))
    env.vs("init")
    env.vs("track", str(folder))
    env.vs("sync")
    return path


def head(env: Env) -> str:
    return env.git("rev-parse", "HEAD").strip()


def test_search_names_the_memory_what_happened_and_the_way_back(env: Env) -> None:
    path = tracked_graph(env)
    path.write_text(graph_lines(("Ada", ["writes Python", "likes green tea"]), ("Grace", [])))
    env.vs("sync")
    learned = head(env)
    path.write_text(graph_lines(("Ada", ["writes Python"]), ("Grace", [])))
    env.vs("sync")
    forgot = head(env)
    hits = json.loads(env.vs("search", "Green Tea", "--json").stdout)
    assert [(h["commit"], h["what"], h["text"]) for h in hits] == [
        (forgot, "observation removed from entity Ada", "likes green tea"),
        (learned, "observation added to entity Ada", "likes green tea"),
    ]
    assert hits[0]["restore"] == f"vaultsync restore --at {learned[:10]} --merge {GRAPH}"
    out = env.vs("search", "green tea").stdout
    assert f"{GRAPH}: observation removed from entity Ada: 'likes green tea'" in out
    assert f"    vaultsync restore --at {learned[:10]} --merge {GRAPH}" in out
    # The command it prints brings the memory back.
    env.vs(*hits[0]["restore"].split()[1:], "--yes")
    assert "likes green tea" in path.read_text()


def test_search_records_markdown_and_paths(env: Env) -> None:
    shutil.copytree(SAMPLES / "records", env.home / "rec")
    notes = env.home / "notes"
    notes.mkdir()
    (notes / "CLAUDE.md").write_text("# Memory\n\n## Deploy\n\n- Deploy on Tuesdays.\n")
    env.vs("init")
    env.vs("track", str(env.home / "rec"))
    env.vs("track", str(notes))
    env.vs("sync")
    (notes / "CLAUDE.md").write_text("# Memory\n\n## Deploy\n\n- Deploy on Fridays.\n")
    env.vs("sync")
    hits = json.loads(env.vs("search", "deploy on", "--json").stdout)
    assert [h["what"] for h in hits] == [
        'item removed from section "Deploy"',
        'item added to section "Deploy"',
        'section "Deploy" appeared',
    ]
    record = next(iter((env.home / "rec").glob("*/*.json")))
    words = json.loads(record.read_text())["content"].split()[:3]
    found = json.loads(env.vs("search", " ".join(words), "rec", "--json").stdout)
    assert found and found[0]["memory"].startswith("memory ")
    assert found[0]["what"] == f"{found[0]['memory']} appeared"
    assert json.loads(env.vs("search", "deploy on", "rec", "--json").stdout) == []
    assert "no memory holds 'zebra'" in env.vs("search", "zebra").stdout


def build_history(env: Env, commits: int) -> dict[str, str]:
    """A vault with `commits` commits written by git fast-import: each revises one of 50
    records; at two marked commits an MCP entity gains and then loses an observation."""
    path = tracked_graph(env)
    marks = {commits // 4: "learn", 3 * commits // 4: "forget"}
    ada = ["writes Python"]
    chunks = []
    start = int(time.time()) - commits
    for i in range(commits):
        stamp = f"vaultsync <v@example.invalid> {start + i} +0000"
        mark = marks.get(i, "")
        msg = f"vaultsync: revision {i} {mark}\n".encode()
        chunks.append(f"commit refs/heads/main\nauthor {stamp}\ncommitter {stamp}\n".encode())
        chunks.append(b"data %d\n%s\n" % (len(msg), msg))
        if i == 0:
            chunks.append(f"from {head(env)}\n".encode())
        doc = json.dumps({"id": f"r{i % 50}", "content": f"revision {i}"}).encode()
        chunks.append(f"M 100644 inline mem/records/r{i % 50}.json\n".encode())
        chunks.append(b"data %d\n%s\n" % (len(doc), doc))
        if mark:
            ada = ["writes Python", "likes green tea"] if mark == "learn" else ["writes Python"]
            graph = graph_lines(("Ada", ada), ("Grace", ["likes COBOL"])).encode()
            chunks.append(f"M 100644 inline {GRAPH}\n".encode())
            chunks.append(b"data %d\n%s\n" % (len(graph), graph))
        chunks.append(b"\n")
    subprocess.run(
        ["git", "fast-import", "--quiet"], input=b"".join(chunks), cwd=env.vault, env=env.env,
        check=True,
    )  # fmt: skip
    env.git("reset", "-q", "--hard", "HEAD")
    path.write_text(graph_lines(("Ada", ada), ("Grace", ["likes COBOL"])))
    found = {}
    for m in marks.values():
        found[m] = env.git("log", "--format=%H", f"--grep=revision [0-9]* {m}").strip()
    return found


def test_search_on_a_10000_commit_history(env: Env) -> None:
    marks = build_history(env, 10_000)
    assert env.commits() == 10_003  # init, track, the first sync, and 10,000 more
    hits = json.loads(env.vs("search", "green tea", "--json").stdout)
    assert [(h["commit"], h["what"]) for h in hits] == [
        (marks["forget"], "observation removed from entity Ada"),
        (marks["learn"], "observation added to entity Ada"),
    ]
    assert json.loads(env.vs("search", "revision 9999", "--json").stdout)[0]["memory"] == (
        "memory r49"
    )
    one = json.loads(env.vs("search", "green tea", "-n", "1", "--json").stdout)
    assert [h["commit"] for h in one] == [marks["forget"]]


def test_search_has_help_with_an_example_and_needs_text(env: Env) -> None:
    assert "Example: vaultsync search" in env.vs("search", "--help").stdout
    env.vs("init")
    assert "needs some TEXT" in env.vs("search", " ", code=2).stderr


def test_search_in_the_real_mcp_servers_graph(synced: Env) -> None:
    path = synced.home / "mem" / "mcp" / "memory.jsonl"
    graph = [json.loads(x) for x in path.read_text().splitlines()]
    graph[0]["observations"].remove("likes dark mode")
    path.write_text("\n".join(json.dumps(x, separators=(",", ":")) for x in graph))
    synced.vs("sync")
    hits = json.loads(synced.vs("search", "dark mode", "--json").stdout)
    assert [(h["what"], h["path"]) for h in hits] == [
        ("observation removed from entity Ada_Lovelace", "mem/mcp/memory.jsonl"),
        ("entity Ada_Lovelace appeared", "mem/mcp/memory.jsonl"),
    ]
