"""A transcript that grows by appends is checked, scanned and summarised by its new lines,
and what is committed is still exactly the file (issue 8, "the store at the cost of what
changed")."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.conftest import Env
from tests.secrets_sync_test import fake_github_token
from vaultsync import state
from vaultsync.appended import APPEND_MIN_BYTES, growth
from vaultsync.reader import blob_id


def turn(i: int) -> str:
    return json.dumps({"type": "user", "uuid": str(i), "message": {"content": "x" * 200}})


def graph_line(name: str) -> str:
    return json.dumps({"type": "entity", "name": name, "entityType": "t", "observations": []})


def transcript(env: Env, lines: int = 400) -> Path:
    """A tracked, synced JSON Lines file over APPEND_MIN_BYTES."""
    folder = env.home / "projects"
    folder.mkdir()
    path = folder / "session.jsonl"
    path.write_text("".join(turn(i) + "\n" for i in range(lines)))
    assert path.stat().st_size >= APPEND_MIN_BYTES
    env.vs("init")
    env.vs("track", str(folder))
    env.vs("sync")
    return path


def append(path: Path, *lines: str) -> None:
    with open(path, "a") as f:
        f.write("".join(line + "\n" for line in lines))


VP = "projects/session.jsonl"


def test_an_append_commits_the_whole_file_and_says_what_was_appended(env: Env) -> None:
    path = transcript(env)
    append(path, turn(1000), turn(1001))
    doc = json.loads(env.vs("sync", "--json").stdout)
    assert doc["modified"] == [VP]
    assert env.git("show", f"HEAD:{VP}") == path.read_text()
    assert f"{VP}: +2 lines appended" in env.git("log", "-1", "--format=%b")
    saved = state.load(env.vault)
    assert saved is not None and saved.line_schemas[VP] == [blob_id(path.read_bytes()), "jsonl"]
    assert "nothing changed" in env.vs("sync").stdout


def test_an_invalid_appended_line_is_rejected_by_its_line_in_the_file(env: Env) -> None:
    path = transcript(env, lines=400)
    good = env.git("show", f"HEAD:{VP}")
    append(path, turn(1000), '{"broken": ')
    doc = json.loads(env.vs("sync", "--json", code=1).stdout)
    assert doc["modified"] == []
    assert doc["rejected"][0]["path"] == VP
    assert "line 402" in doc["rejected"][0]["reason"]
    assert env.git("show", f"HEAD:{VP}") == good


def test_a_secret_in_an_appended_line_is_blocked(env: Env) -> None:
    path = transcript(env)
    append(path, json.dumps({"type": "user", "message": {"content": fake_github_token()}}))
    doc = json.loads(env.vs("sync", "--json", code=1).stdout)
    assert doc["rejected"][0]["path"] == VP and "secret found" in doc["rejected"][0]["reason"]
    assert fake_github_token() not in env.git("log", "--all", "-p")


def test_an_edit_before_the_end_is_checked_whole(env: Env) -> None:
    path = transcript(env)
    lines = path.read_text().splitlines()
    lines[3] = '{"broken": '  # an old line broken, then lines appended
    path.write_text("\n".join(lines) + "\n" + turn(1000) + "\n")
    doc = json.loads(env.vs("sync", "--json", code=1).stdout)
    assert doc["rejected"][0]["path"] == VP and "line 4" in doc["rejected"][0]["reason"]


def test_an_appended_graph_line_makes_auto_check_the_whole_file_again(env: Env) -> None:
    path = transcript(env)
    append(path, graph_line("first-entity"))
    whole = json.loads(env.vs("sync", "--json", code=None).stdout)
    # The same verdict as checking the file whole: now an MCP graph, whose schema the
    # transcript lines do not satisfy.
    assert whole["modified"] == [] and whole["rejected"][0]["path"] == VP
    assert "mcp-knowledge-graph" in whole["rejected"][0]["reason"]


def test_an_mcp_graph_append_is_summarised_as_memories(env: Env) -> None:
    folder = env.home / "mcp"
    folder.mkdir()
    path = folder / "memory.jsonl"
    path.write_text("".join(graph_line(f"e{i}") + "\n" for i in range(1000)))
    env.vs("init")
    env.vs("track", str(folder))
    env.vs("sync")
    append(path, graph_line("new-one"))
    env.vs("sync")
    assert "mcp/memory.jsonl: +1 entity" in env.git("log", "-1", "--format=%b")
    assert env.git("show", "HEAD:mcp/memory.jsonl") == path.read_text()


@pytest.mark.parametrize(
    ("new", "why"),
    [
        (b"a\nb\nc\n", "not longer"),
        (b"a\nX\nc\nd\n", "an old line changed"),
        (b"a\nb\ncd\n", "the last old line extended"),
    ],
)
def test_growth_is_only_a_proved_prefix(new: bytes, why: str) -> None:
    old = b"a\nb\nc\n" if why != "the last old line extended" else b"a\nb\nc"
    assert growth(new, "m.jsonl", len(old), blob_id(old), "jsonl") is None, why


def test_growth_of_a_true_append() -> None:
    old, new = b"a\n\nb\n", b"a\n\nb\nc\n"
    g = growth(new, "m.jsonl", len(old), blob_id(old), "jsonl")
    assert g is not None and (g.offset, g.lines_before) == (len(old), 3)
    assert growth(new, "m.json", len(old), blob_id(old), "json") is None  # not line-wise
    assert growth(new, "m.jsonl", len(old), blob_id(old), None) is None  # schema unknown


def test_versions_of_a_big_file_are_stored_as_deltas(env: Env) -> None:
    folder = env.home / "projects"
    folder.mkdir()
    path = folder / "big.jsonl"
    rng = random.Random(3)
    path.write_text(
        "".join(json.dumps({"t": rng.randbytes(600).hex()}) + "\n" for _ in range(1800))
    )
    size = path.stat().st_size
    env.vs("init")
    env.vs("track", str(folder))
    env.vs("sync")
    for i in range(6):
        append(path, turn(i))
        assert json.loads(env.vs("sync", "--json").stdout)["modified"] == ["projects/big.jsonl"]
    stored = sum(f.stat().st_size for f in (env.vault / ".git").rglob("*") if f.is_file())
    assert stored < 2 * size  # seven whole versions would be over 3.5x (hex halves in zlib)
    env.git("fsck", "--no-progress")
    assert env.git("show", "HEAD:projects/big.jsonl") == path.read_text()


def test_the_vault_copy_is_extended_only_when_it_holds_heads_version(tmp_path: Path) -> None:
    from vaultsync.appended import extend_copy

    old, new = b'{"a": 1}\n' * 100, b'{"a": 1}\n' * 100 + b'{"b": 2}\n'
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(old)
    assert extend_copy(str(copy), new, len(old)) and copy.read_bytes() == new
    copy.write_bytes(old.replace(b"1", b"9", 1))  # same size, other bytes: hand-edited
    assert not extend_copy(str(copy), new, len(old))
    copy.write_bytes(old[:-1])  # another size
    assert not extend_copy(str(copy), new, len(old))
    (tmp_path / "link.jsonl").symlink_to(copy)
    assert not extend_copy(str(tmp_path / "link.jsonl"), new, len(old))
    assert not extend_copy(str(tmp_path / "gone.jsonl"), new, len(old))


def test_a_hand_edited_vault_copy_is_replaced_whole_by_the_next_append(env: Env) -> None:
    path = transcript(env)
    copy = env.vault / VP
    append(path, turn(1000))
    env.vs("sync")
    assert copy.read_bytes() == path.read_bytes()  # extended in place
    copy.write_text(copy.read_text().replace('"0"', '"X"', 1))  # same size, edited
    append(path, turn(1001))
    env.vs("sync")
    assert copy.read_bytes() == path.read_bytes()
    assert env.git("status", "--porcelain") == ""
