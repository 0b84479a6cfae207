"""export --no-vectors, and export --verify DIR: an export checked against its checksums."""

from __future__ import annotations

import json

from tests.conftest import Env


def test_no_vectors_leaves_embeddings_out(synced: Env) -> None:
    full, lean = synced.root / "full", synced.root / "lean"
    synced.vs("export", "--format", "json", "--output", str(full))
    synced.vs("export", "--format", "json", "--no-vectors", "--output", str(lean))
    text = (lean / "memories.json").read_text()
    assert '"embedding"' in (full / "memories.json").read_text() and '"embedding"' not in text
    doc = json.loads(text)
    assert len(doc["memories"]) == len(json.loads((full / "memories.json").read_text())["memories"])
    assert (lean / "memories.json").stat().st_size < (full / "memories.json").stat().st_size
    assert "ok: 2 files as written" in synced.vs("export", "--verify", str(lean)).stdout


def test_verify_names_a_changed_an_added_and_a_missing_file(synced: Env) -> None:
    out = synced.root / "out"
    synced.vs("export", "--format", "csv", "--output", str(out))
    synced.vs("export", "--verify", str(out))
    with (out / "memories.csv").open("a") as f:
        f.write("x,y,z,,,\n")
    (out / "notes.txt").write_text("mine")
    (out / "metadata.json").unlink()
    report = json.loads(synced.vs("export", "--verify", str(out), "--json", code=1).stdout)
    text = "\n".join(report["problems"])
    assert "memories.csv: SHA-256 differs from checksums.json" in text
    assert "notes.txt: not in checksums.json" in text
    assert "metadata.json: listed in checksums.json but unreadable" in text


def test_verify_a_folder_that_is_no_export_is_a_usage_error(env: Env) -> None:
    err = env.vs("export", "--verify", str(env.root), code=2).stderr
    assert "checksums.json" in err and "--verify takes a folder" in err
    assert "--output DIR" in env.vs("export", code=2).stderr


def test_markdown_export_draws_mcp_relations_as_mermaid(synced: Env) -> None:
    out = synced.root / "md"
    synced.vs("export", "--format", "markdown", "--output", str(out))
    text = (out / "memories.md").read_text()
    graph = text.split("### mem/mcp/memory.jsonl", 1)[1]
    assert graph.lstrip().startswith("```mermaid\ngraph LR\n")
    assert '  n0["Ada_Lovelace"] -->|maintains| n1["vaultsync"]' in graph
    assert "```mermaid" in text.split("### mem/export/export.json", 1)[1]
