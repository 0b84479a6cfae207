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
        "  (26 files; `vaultsync sync --dry-run --files` lists them)",
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
