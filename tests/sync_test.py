from __future__ import annotations

import json
import os
import re

from tests.conftest import HOST, SAMPLES, Env

MCP = "mem/mcp/memory.jsonl"
RECORD = "mem/records/second-brain/31162427-3bfd-1d33-8d00-38ec42650644.json"


def test_first_sync_copies_every_memory_file_exactly(synced: Env) -> None:
    files = synced.head_files()
    for path in SAMPLES.rglob("*.json*"):
        vp = "mem/" + path.relative_to(SAMPLES).as_posix()
        assert files[vp] == path.read_text(), vp
    # The MCP server writes no final newline; the vault keeps the bytes as they are.
    assert not (synced.vault / MCP).read_bytes().endswith(b"\n")
    assert synced.git("status", "--porcelain") == ""


def test_a_new_files_copy_replaces_what_a_killed_run_left(synced: Env) -> None:
    """New files are written in place, not by rename; a half copy (or a symlink) that
    a killed run or a person left at the name is replaced, never written through."""
    new = synced.home / "mem" / "notes" / "fresh.json"
    new.parent.mkdir()
    new.write_text('{"id": "f", "content": "fresh"}')
    (synced.vault / "mem" / "notes").mkdir()
    (synced.vault / "mem" / "notes" / "fresh.json").write_text('{"id": "f", "con')
    outside = synced.root / "outside.json"
    outside.write_text("not the vault's")
    other = synced.home / "mem" / "other.json"
    other.write_text('{"id": "o", "content": "other"}')
    (synced.vault / "mem" / "other.json").symlink_to(outside)
    synced.vs("sync")
    assert (synced.vault / "mem" / "notes" / "fresh.json").read_bytes() == new.read_bytes()
    assert (synced.vault / "mem" / "other.json").read_bytes() == other.read_bytes()
    assert not (synced.vault / "mem" / "other.json").is_symlink()
    assert outside.read_text() == "not the vault's"
    assert synced.git("status", "--porcelain") == ""


def test_commit_subject_body_trailers_and_dates(synced: Env) -> None:
    subject, body = synced.git("log", "-1", "--format=%s%x00%b").split("\0")
    m = re.fullmatch(r"vaultsync: (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) \+7 ~0 -0", subject)
    assert m, subject
    assert f"{MCP}: added" in body
    assert f"Vaultsync-Host: {HOST}" in body
    assert "Vaultsync-Version: 0.1.0" in body
    author, committer = synced.git("log", "-1", "--format=%aI|%cI").strip().split("|")
    assert author == committer
    assert author.replace("+00:00", "Z") == m.group(1)


def test_no_change_makes_no_commit(synced: Env) -> None:
    before = synced.commits()
    out = synced.vs("sync").stdout
    assert "nothing changed" in out
    assert synced.commits() == before


def test_modify_add_delete_rename(synced: Env) -> None:
    mem = synced.home / "mem"
    (mem / "mcp" / "memory.jsonl").write_text(
        '{"type":"entity","name":"x","entityType":"t","observations":[]}\n'
    )
    (mem / "new.json").write_text('{"id": "n1", "content": "new"}')
    (mem / "mem0" / "memories.json").unlink()
    (mem / "export" / "export.json").rename(mem / "export" / "renamed.json")
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["added"] == ["mem/export/renamed.json", "mem/new.json"]
    assert doc["modified"] == [MCP]
    assert doc["deleted"] == ["mem/export/export.json", "mem/mem0/memories.json"]
    assert doc["rejected"] == [] and doc["commit"]
    files = synced.head_files()
    assert "mem/mem0/memories.json" not in files
    assert files["mem/new.json"] == '{"id": "n1", "content": "new"}'
    # History keeps the deleted file.
    assert synced.git("show", "HEAD~1:mem/mem0/memories.json").startswith("{")
    assert "+2 ~1 -2" in synced.git("log", "-1", "--format=%s")
    assert not (synced.vault / "mem" / "mem0").exists()
    assert synced.git("status", "--porcelain") == ""


def test_dry_run_changes_nothing(synced: Env) -> None:
    (synced.home / "mem" / "new.json").write_text("{}")
    head = synced.git("rev-parse", "HEAD")
    state = (synced.vault / ".last_sync").read_bytes()
    out = synced.vs("sync", "--dry-run").stdout
    assert "would commit +1 ~0 -0" in out and "mem/new.json" in out
    assert synced.git("rev-parse", "HEAD") == head
    assert (synced.vault / ".last_sync").read_bytes() == state
    assert not (synced.vault / "mem" / "new.json").exists()


def test_source_option_syncs_only_that_source(synced: Env) -> None:
    other = synced.memories("other")
    synced.vs("track", str(other))
    (synced.home / "mem" / "a.json").write_text("{}")
    doc = json.loads(synced.vs("sync", "--source", "other", "--json").stdout)
    assert all(p.startswith("other/") for p in doc["added"]) and doc["added"]
    assert "mem/a.json" not in synced.head_files()
    assert "no source named 'nope'" in synced.vs("sync", "--source", "nope", code=2).stderr


def test_broken_json_is_rejected_and_everything_else_syncs(synced: Env) -> None:
    mem = synced.home / "mem"
    good_before = synced.git("show", f"HEAD:{RECORD}")
    (mem / RECORD.removeprefix("mem/")).write_text('{"id": "x", "content": ')
    (mem / "junk.json").write_bytes(os.urandom(64) + b"\xff\xfe")
    (mem / "fine.json").write_text('{"id": "f", "content": "ok"}')
    proc = synced.vs("sync", "--json", code=1)
    doc = json.loads(proc.stdout)
    assert doc["added"] == ["mem/fine.json"]
    rejected = {r["path"]: r["reason"] for r in doc["rejected"]}
    assert set(rejected) == {RECORD, "mem/junk.json"}
    assert "not well-formed JSON" in rejected[RECORD]
    # The vault keeps the last good version.
    assert synced.git("show", f"HEAD:{RECORD}") == good_before
    # status keeps listing it until it is valid again...
    status = json.loads(synced.vs("status", "--json").stdout)
    assert {r["path"] for r in status["rejected"]} == {RECORD, "mem/junk.json"}
    human = synced.vs("sync", code=1).stderr
    assert f"rejected: {RECORD}: " in human
    # ...then it syncs normally.
    (mem / RECORD.removeprefix("mem/")).write_text('{"id": "x", "content": "fixed"}')
    (mem / "junk.json").unlink()
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["modified"] == [RECORD] and doc["rejected"] == []
    assert json.loads(synced.vs("status", "--json").stdout)["rejected"] == []


def test_invalid_content_is_kept_on_the_rejected_ref(synced: Env) -> None:
    bad = '{"id": "x", "content": '
    (synced.home / RECORD.replace("mem/", "mem/", 1)).write_text(bad)
    synced.vs("sync", code=1)
    synced.vs("sync", code=1)  # the same content is not committed twice
    log = synced.git("log", "--format=%s", "refs/vaultsync/rejected").splitlines()
    assert log == [f"vaultsync: rejected {RECORD}"]
    assert synced.git("show", f"refs/vaultsync/rejected:{RECORD}") == bad


def test_json_document_shape(synced: Env) -> None:
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert set(doc) >= {
        "commit",
        "added",
        "modified",
        "deleted",
        "rejected",
        "unavailable",
        "pushed",
        "duration_s",
    }
    assert doc["commit"] is None


def test_quiet_prints_nothing_on_success(synced: Env) -> None:
    (synced.home / "mem" / "a.json").write_text("{}")
    proc = synced.vs("sync", "--quiet")
    assert proc.stdout == "" and proc.stderr == ""


def test_single_file_source(env: Env) -> None:
    env.memories()
    env.vs("init")
    env.vs("track", str(env.home / "mem" / "mcp" / "memory.jsonl"), "--name", "graph")
    env.vs("sync")
    assert set(env.head_files()) == {"vaultsync.toml", ".gitignore", "graph/memory.jsonl"}


def test_include_exclude(env: Env) -> None:
    mem = env.memories()
    (mem / "notes.txt").write_text("not a memory")
    (mem / "cache").mkdir()
    (mem / "cache" / "c.json").write_text("{}")
    env.vs("init")
    env.vs("track", str(mem), "--exclude", "cache/**", "--exclude", "export/*")
    env.vs("sync")
    files = set(env.head_files())
    assert "mem/mcp/memory.jsonl" in files
    assert not {"mem/notes.txt", "mem/cache/c.json", "mem/export/export.json"} & files


def test_sync_writes_the_event_log(synced: Env) -> None:
    log = (synced.vault / ".vaultsync" / "vaultsync.log").read_text()
    assert re.search(r"Z pid=\d+ sync: commit=[0-9a-f]{40} added=7 modified=0 deleted=0", log)


def test_a_hand_edit_of_the_config_goes_in_with_the_next_sync(synced: Env) -> None:
    cfg = synced.vault / "vaultsync.toml"
    cfg.write_text(cfg.read_text().replace("max_delete = 0.5", "max_delete = 0.25"))
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["modified"] == ["vaultsync.toml"]
    assert "max_delete = 0.25" in synced.git("show", "HEAD:vaultsync.toml")
    assert synced.git("status", "--porcelain") == ""
    assert "nothing changed" in synced.vs("sync").stdout


def test_commit_body_summarises_changes_as_memories(synced: Env) -> None:
    path = synced.home / MCP
    graph = [json.loads(x) for x in path.read_text().splitlines()]
    graph[0]["observations"].append("asked for weekly summaries")
    graph = [g for g in graph if g.get("name") != "Postgres"]
    path.write_text("\n".join(json.dumps(x) for x in graph))
    (synced.home / "mem" / "new.json").write_text('{"id": "n", "content": "c"}')
    synced.vs("sync")
    body = synced.git("log", "-1", "--format=%b")
    assert f"{MCP}: -1 entity, 1 entity changed, +1 observation" in body
    assert "mem/new.json: added" in body


def test_commit_body_of_a_legacy_graph_turned_into_json_lines(synced: Env) -> None:
    graph = [json.loads(x) for x in (synced.home / MCP).read_text().splitlines()]
    legacy = synced.home / "mem" / "graph" / "memory.json"
    legacy.parent.mkdir()
    legacy.write_text(json.dumps({"entities": graph[:3], "relations": graph[3:]}, indent=2))
    synced.vs("sync")
    legacy.write_text("\n".join(json.dumps(x) for x in graph[:2]))  # the server's new form
    synced.vs("sync")
    body = synced.git("log", "-1", "--format=%b")
    assert "mem/graph/memory.json: -1 entity, -2 relations" in body


def _nested(depth: int, leaf: int, open_: str = '{"a": ', close: str = "}") -> str:
    text = str(leaf)
    for _ in range(depth):
        text = open_ + text + close
    return text


def test_a_summary_that_fails_degrades_to_modified(synced: Env) -> None:
    """Valid JSON nested 600 deep made the commit summary raise RecursionError, and the
    whole sync (every other file with it) failed with exit 70. Lists: dicts of scalars
    are now diffed without deepdiff, which this depth no longer fails (next test)."""
    deep = synced.home / "mem" / "deep.json"
    doc = '{"id": "d", "content": "x", "metadata": {"a": %s}}'
    deep.write_text(doc % _nested(600, 1, "[", "]"))
    synced.vs("sync")
    deep.write_text(doc % _nested(600, 2, "[", "]"))
    (synced.home / "mem" / "other.json").write_text('{"id": "o", "content": "z"}')
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["modified"] == ["mem/deep.json"] and doc["added"] == ["mem/other.json"]
    assert "mem/deep.json: modified" in synced.git("log", "-1", "--format=%B")


def test_a_deeply_nested_revision_is_summarised(synced: Env) -> None:
    deep = synced.home / "mem" / "deep.json"
    deep.write_text('{"id": "d", "content": "x", "metadata": ' + _nested(600, 1) + "}")
    synced.vs("sync")
    deep.write_text('{"id": "d", "content": "x", "metadata": ' + _nested(600, 2) + "}")
    synced.vs("sync")
    assert "mem/deep.json: memory changed: metadata/a/a/" in synced.git("log", "-1", "--format=%B")


def test_a_fifo_or_folder_in_the_vault_copys_place_does_not_stop_a_deletion(synced: Env) -> None:
    """The deletion pass removes the vault's copy; something else in its place (a FIFO
    where a folder of its path was, a folder where the file was) is left alone."""
    fifo_vp = "mem/mem0/memories.json"
    folder_vp = "mem/mcp/memory.jsonl"
    sub = synced.vault / "mem" / "mem0"
    for p in sub.iterdir():
        p.unlink()
    sub.rmdir()
    os.mkfifo(sub)
    (synced.vault / folder_vp).unlink()
    (synced.vault / folder_vp).mkdir()
    (synced.home / fifo_vp).unlink()
    (synced.home / folder_vp).unlink()
    doc = json.loads(synced.vs("sync", "--json", "--allow-delete", timeout=60).stdout)
    assert sorted(doc["deleted"]) == sorted([fifo_vp, folder_vp])
    assert fifo_vp not in synced.head_files() and folder_vp not in synced.head_files()
    assert (synced.vault / folder_vp).is_dir()  # not ours: left as it was
