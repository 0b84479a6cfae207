"""vaultsync export: portable formats with metadata and verifiable checksums."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import Env


def verify_checksums(out: Path) -> dict[str, str]:
    sums = json.loads((out / "checksums.json").read_text())["sha256"]
    assert set(sums) == {p.name for p in out.iterdir()} - {"checksums.json"}
    for name, digest in sums.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
    return dict(sums)


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("json", "memories.json"), ("csv", "memories.csv"), ("markdown", "memories.md")],
)
def test_export_writes_memories_metadata_and_checksums(synced: Env, fmt: str, name: str) -> None:
    out = synced.root / f"export-{fmt}"
    synced.vs("export", "--format", fmt, "--output", str(out))
    sums = verify_checksums(out)
    assert set(sums) == {name, "metadata.json"}
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["commit"] == synced.git("rev-parse", "HEAD").strip()
    assert meta["files"] == 7 and meta["format"] == fmt
    # 3 entities + 2 relations (MCP), 4 records, 4 mem0 items, 3 export memories + 1 link
    assert meta["counts"] == {"entity": 3, "relation": 2, "memory": 11, "relationship": 1}


def test_json_export_has_every_memory_with_source_and_vault_path(synced: Env) -> None:
    out = synced.root / "x"
    synced.vs("export", "--output", str(out))
    entries = json.loads((out / "memories.json").read_text())["memories"]
    ada = next(e for e in entries if e["id"] == "Ada_Lovelace")
    assert ada["source"] == "mem" and ada["vault_path"] == "mem/mcp/memory.jsonl"
    assert "prefers concise answers" in ada["data"]["observations"]
    records = [e for e in entries if e["vault_path"].startswith("mem/records/")]
    assert len(records) == 4 and all(e["kind"] == "memory" for e in records)


def test_csv_has_one_row_per_memory_and_markdown_groups_by_source(synced: Env) -> None:
    out = synced.root / "c"
    synced.vs("export", "--format", "csv", "--output", str(out))
    rows = list(csv.DictReader((out / "memories.csv").open()))
    assert len(rows) == 17
    assert {r["kind"] for r in rows} == {"entity", "relation", "memory", "relationship"}
    md = synced.root / "m"
    synced.vs("export", "--format", "markdown", "--output", str(md))
    text = (md / "memories.md").read_text()
    assert "## mem\n" in text and "### mem/mcp/memory.jsonl" in text
    assert "- **entity Ada_Lovelace**: prefers concise answers" in text


def test_export_at_an_earlier_commit(synced: Env) -> None:
    first = synced.git("rev-parse", "HEAD").strip()
    (synced.home / "mem" / "extra.json").write_text('{"id": "e1", "content": "later"}')
    synced.vs("sync")
    out = synced.root / "then"
    synced.vs("export", "--at", first, "--output", str(out))
    assert "later" not in (out / "memories.json").read_text()
    assert json.loads((out / "metadata.json").read_text())["commit"] == first


def test_export_refuses_a_full_folder_and_a_bad_format(synced: Env) -> None:
    full = synced.root / "full"
    full.mkdir()
    (full / "x").write_text("x")
    assert "not empty" in synced.vs("export", "--output", str(full), code=2).stderr
    err = synced.vs("export", "--format", "xml", "--output", str(synced.root / "n"), code=2)
    assert "--format must be one of json, csv, markdown" in err.stderr


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown"])
def test_a_lone_surrogate_is_exported_escaped_and_named(synced: Env, fmt: str) -> None:
    odd = synced.home / "mem" / "odd.json"
    odd.write_text('{"id": "odd", "content": "half an emoji \\ud800"}')
    synced.vs("sync")
    out = synced.root / "x"
    proc = synced.vs("export", "--format", fmt, "--output", str(out))
    assert "mem/odd.json" in proc.stderr
    verify_checksums(out)
    written = next(p for p in out.iterdir() if p.name.startswith("memories"))
    assert "half an emoji \\ud800" in written.read_text("utf-8")


def test_export_to_or_under_a_file_names_it(synced: Env) -> None:
    a_file = synced.root / "a-file"
    a_file.write_text("x")
    for out in (a_file, a_file / "export"):
        err = synced.vs("export", "--output", str(out), code=2).stderr
        assert f"{a_file} is a file" in err
    assert a_file.read_text() == "x"
