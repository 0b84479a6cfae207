"""Output that scales: many files are counted per source and per kind; --files lists them."""

from __future__ import annotations

import json

from tests.conftest import Env


def test_dry_run_counts_per_source_and_lists_files_on_request(env: Env) -> None:
    folder = env.records("notes", 30)
    (folder / "0.json").write_text(json.dumps({"id": "0", "content": "changed"}))
    for i in range(30, 55):
        (folder / f"{i}.json").write_text(json.dumps({"id": str(i), "content": "new"}))
    out = env.vs("sync", "--dry-run").stdout
    assert out.splitlines() == [
        "would commit +25 ~1 -0",
        "  notes: 29 unchanged, 25 added, 1 modified",
        "  (26 files; add --files to list them)",
    ]
    listed = env.vs("sync", "--dry-run", "--files").stdout.splitlines()
    assert "  modified notes/0.json" in listed and "  added    notes/54.json" in listed
    assert len(listed) == 2 + 26
    assert env.vs("sync", "--dry-run", "-v").stdout.splitlines() == listed


def test_dry_run_of_a_few_files_lists_them(env: Env) -> None:
    folder = env.records("notes", 3)
    (folder / "1.json").unlink()
    out = env.vs("sync", "--dry-run").stdout
    assert out.splitlines() == [
        "would commit +0 ~0 -1",
        "  notes: 2 unchanged, 1 deleted",
        "  deleted  notes/1.json",
    ]


def test_log_of_a_big_import_counts_per_source_and_lists_on_request(env: Env) -> None:
    env.records("notes", 60)
    out = env.vs("log", "-n", "1").stdout.splitlines()
    assert len(out) == 3, out
    assert out[0].endswith("+60 ~0 -0")
    assert out[1:] == ["    notes: 60 added", "    (60 files; add --files to list them)"]
    listed = env.vs("log", "-n", "1", "--files").stdout.splitlines()
    assert len(listed) == 61 and "    A notes/59.json" in listed


def test_log_shows_what_each_commit_changed_as_memories(synced: Env) -> None:
    mcp = synced.home / "mem" / "mcp" / "memory.jsonl"
    graph = [json.loads(x) for x in mcp.read_text().splitlines()]
    graph = [g for g in graph if g.get("name") != "Postgres"]
    mcp.write_text("\n".join(json.dumps(x) for x in graph))
    synced.vs("sync", "-q")
    out = synced.vs("log", "-n", "1").stdout
    assert "    M mem/mcp/memory.jsonl: -1 entity" in out
    doc = json.loads(synced.vs("log", "-n", "1", "--json").stdout)
    assert doc[0]["files"] == ["mem/mcp/memory.jsonl"]
    assert doc[0]["summaries"]["mem/mcp/memory.jsonl"].startswith("-1 entity")


def test_restore_counts_per_source_and_shows_only_what_changes(env: Env) -> None:
    folder = env.records("notes", 60)
    (folder / "5.json").write_text(json.dumps({"id": "5", "content": "changed"}))
    (folder / "7.json").unlink()
    out = env.vs("restore", "--at", "HEAD", "--dry-run").stdout.splitlines()
    assert out[0] == "notes: 58 unchanged, 1 would overwrite, 1 would create"
    assert out[1] == f"would overwrite {folder / '5.json'}"
    assert out[-1] == f"would create    {folder / '7.json'}"
    assert not any("unchanged" in line for line in out[1:])
    listed = env.vs("restore", "--at", "HEAD", "--dry-run", "--files").stdout
    assert f"unchanged       {folder / '0.json'}" in listed
    done = env.vs("restore", "--at", "HEAD", "--yes").stdout
    assert done.startswith("notes: 58 unchanged, 1 overwritten, 1 created\n")
    assert (folder / "7.json").exists()


def test_restore_of_many_changed_files_says_how_to_list_them(env: Env) -> None:
    folder = env.records("notes", 30)
    for path in folder.iterdir():
        path.unlink()
    out = env.vs("restore", "--at", "HEAD", "--dry-run").stdout.splitlines()
    assert out == [
        "notes: 30 would create",
        "(30 files; add --files to list them)",
    ]


def test_status_counts_many_pending_files_per_source(env: Env) -> None:
    folder = env.records("notes", 2)
    for i in range(2, 32):
        (folder / f"{i}.json").write_text(json.dumps({"id": str(i), "content": "new"}))
    out = env.vs("status").stdout
    assert "pending:   30 file(s)\n  notes: 30 added\n  (30 files; add --files to list them)" in out
    assert "  added    notes/31.json" in env.vs("status", "--files").stdout
