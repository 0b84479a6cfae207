"""Validation inside a sync: shipped schemas by auto-detection, schema tables, user schemas."""

from __future__ import annotations

import json

from tests.conftest import Env

RECORD = "mem/records/second-brain/31162427-3bfd-1d33-8d00-38ec42650644.json"


def test_a_record_breaking_its_schema_is_rejected_with_pointer_and_message(synced: Env) -> None:
    path = synced.home / RECORD
    path.write_text(json.dumps({"id": "31162427", "content": "ok", "timestamp": [1]}))
    doc = json.loads(synced.vs("sync", "--json", code=1).stdout)
    (reason,) = [r["reason"] for r in doc["rejected"] if r["path"] == RECORD]
    assert reason.startswith("memory-record: /timestamp: ")


def test_an_mcp_line_breaking_the_graph_schema_names_the_line(synced: Env) -> None:
    path = synced.home / "mem" / "mcp" / "memory.jsonl"
    lines = path.read_text().splitlines()
    lines[2] = json.dumps({"type": "entity", "entityType": "person", "observations": []})
    path.write_text("\n".join(lines))
    doc = json.loads(synced.vs("sync", "--json", code=1).stdout)
    (reason,) = [r["reason"] for r in doc["rejected"] if r["path"] == "mem/mcp/memory.jsonl"]
    assert reason == "mcp-knowledge-graph: line 3: 'name' is a required property"


def test_schema_table_and_user_schema_in_the_vault(env: Env) -> None:
    mem = env.home / "notes"
    mem.mkdir()
    (mem / "a.json").write_text('{"title": "x"}')
    (mem / "b.json").write_text('{"title": 3}')
    env.vs("init")
    (env.vault / "schemas").mkdir()
    (env.vault / "schemas" / "note.json").write_text(
        json.dumps(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "required": ["title"],
                "properties": {"title": {"type": "string"}},
            }
        )
    )
    env.vs("track", str(mem))
    cfg = env.vault / "vaultsync.toml"
    cfg.write_text(cfg.read_text() + 'schema = {"*.json" = "schemas/note.json"}\n')
    doc = json.loads(env.vs("sync", "--json", code=1).stdout)
    assert doc["added"] == ["notes/a.json"]
    assert doc["rejected"][0]["path"] == "notes/b.json"
    assert "/title" in doc["rejected"][0]["reason"]


def test_a_missing_user_schema_is_exit_2_before_any_work(synced: Env) -> None:
    cfg = synced.vault / "vaultsync.toml"
    cfg.write_text(cfg.read_text() + 'schema = "schemas/missing.json"\n')
    (synced.home / "mem" / "new.json").write_text("{}")
    head = synced.git("rev-parse", "HEAD")
    err = synced.vs("sync", code=2).stderr
    assert "schemas/missing.json" in err
    assert synced.git("rev-parse", "HEAD") == head


def test_a_misspelled_config_key_is_exit_2_naming_it(synced: Env) -> None:
    cfg = synced.vault / "vaultsync.toml"
    cfg.write_text(cfg.read_text().replace("secrets = ", "secret = "))
    err = synced.vs("sync", code=2).stderr
    assert "vault.secret: unknown key" in err


def test_a_big_invalid_file_is_explained_by_its_first_error(env: Env) -> None:
    # Over 2 MiB, the message is the fast validator's first error: explaining every one
    # of them in pure Python took a minute for a 300 MB file (see docs, not a timing test).
    items: list[dict[str, object]] = [
        {"id": str(i), "memory": "m" * 40, "user_id": "u", "created_at": "2024-01-01T00:00:00Z"}
        for i in range(40000)
    ]
    items[7000]["memory"] = 5
    for i in range(7001, 40000, 2):
        items[i]["id"] = None
    big = env.root / "mem0.json"
    big.write_text(json.dumps({"results": items}))
    assert big.stat().st_size > 2 << 20
    out = env.vs("validate", str(big), code=1).stdout
    assert "/results/7000/memory: 5 is not of type" in out
