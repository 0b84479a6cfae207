"""What a sync plans for deletions: `deletions = "keep"` archives instead of deleting."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Env
from vaultsync import state
from vaultsync.plan import _append_schema


def transcripts(env: Env, count: int, deletions: str) -> Path:
    """~/.claude/projects/app with `count` transcripts, tracked with `deletions`, synced."""
    folder = env.home / ".claude" / "projects" / "-home-me-app"
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"session-{i}.jsonl").write_text(json.dumps({"type": "user", "n": i}) + "\n")
    env.vs("init")
    env.vs("track", str(env.home / ".claude"))
    config = env.vault / "vaultsync.toml"
    config.write_text(config.read_text() + f'deletions = "{deletions}"\n')
    env.vs("sync")
    return folder


def test_keep_leaves_pruned_transcripts_in_head_and_no_guard_holds(env: Env) -> None:
    folder = transcripts(env, 8, "keep")
    for i in range(6):  # Claude Code prunes old sessions: most of them at once
        (folder / f"session-{i}.jsonl").unlink()
    out = json.loads(env.vs("sync", "--json").stdout)  # exit 0: nothing held
    assert out["deleted"] == [] and out["commit"] is None
    head = env.head_files()
    assert all(f"claude/projects/-home-me-app/session-{i}.jsonl" in head for i in range(8))
    status = env.vs("status").stdout
    assert 'kept:      6 file(s) deleted on disk, kept in the vault (deletions = "keep")' in status
    assert "warning" not in status
    kept = json.loads(env.vs("status", "--json").stdout)["kept"]
    assert len(kept) == 6 and kept[0].startswith("claude/projects/")


def test_a_kept_file_that_comes_back_changed_is_committed(env: Env) -> None:
    folder = transcripts(env, 2, "keep")
    path = folder / "session-0.jsonl"
    path.unlink()
    env.vs("sync")
    path.write_text('{"type": "user", "n": "again"}\n')
    out = json.loads(env.vs("sync", "--json").stdout)
    assert out["modified"] == ["claude/projects/-home-me-app/session-0.jsonl"]


def test_follow_still_deletes_and_still_guards(env: Env) -> None:
    folder = transcripts(env, 8, "follow")
    for i in range(6):
        (folder / f"session-{i}.jsonl").unlink()
    env.vs("sync", code=1)  # held: more than max_delete
    env.vs("sync", "--allow-delete")
    assert len([p for p in env.head_files() if p.startswith("claude/")]) == 2


def test_deletions_must_be_follow_or_keep(env: Env) -> None:
    transcripts(env, 1, "keep")
    config = env.vault / "vaultsync.toml"
    config.write_text(config.read_text().replace('"keep"', '"archive"'))
    err = env.vs("sync", code=2).stderr
    assert "sources[0].deletions" in err and "keep" in err


def test_only_a_file_the_append_path_can_take_is_read_for_an_append() -> None:
    """The prefix proof is hashed (read_snapshot's prefix) only where appended.growth
    could use it: a 545 MB JSON export is not hashed twice at every sync."""
    st = state.State()
    for vp in ("s/big.jsonl", "s/export.json"):
        st.put(vp, state.Entry(1 << 20, 1, 1, 1, "a" * 40))
    assert _append_schema("s/export.json", "auto", st) is None  # never checked as lines
    assert _append_schema("s/export.json", "none", st) is None
    assert _append_schema("s/big.jsonl", "auto", st) is None  # no schema recorded yet
    st.line_schemas["s/big.jsonl"] = ["a" * 40, "jsonl"]
    assert _append_schema("s/big.jsonl", "auto", st) == "jsonl"
    st.line_schemas["s/big.jsonl"] = ["b" * 40, "jsonl"]  # recorded for another version
    assert _append_schema("s/big.jsonl", "auto", st) is None
    assert _append_schema("s/big.jsonl", "jsonl", st) == "jsonl"
