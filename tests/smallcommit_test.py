"""A small commit written in-process (smallcommit) is the commit git itself would make:
for every kind of change (modified, added in new nested folders, deleted down to an empty
folder, a file where a folder was and the reverse, names that sort at git's edges) its
tree is the one `git write-tree` makes from the same change to an index, git accepts the
pack (fsck --strict, verify-pack), and what it cannot write it declines."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import Env
from vaultsync import smallcommit
from vaultsync.fastimport import Ident
from vaultsync.gitvault import GitVault
from vaultsync.reader import blob_id

WHEN = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
WHO = Ident("vaultsync", "vaultsync@test")
# Names at the edges of git's order: a folder sorts as if its name ended in "/", so
# "a-b" < "a" (a folder here) < "a.b" < "a0"; plus spaces, non-ASCII, a non-UTF-8 byte.
NAMES = ["a", "a-b", "a.b", "a0", "b c.json", "ü.json", "z\udcff.json", "m.json"]


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], input=input, capture_output=True, check=True
    )
    return proc.stdout.decode("utf-8", "surrogateescape")


def repo_with(tmp_path: Path, files: dict[str, bytes]) -> tuple[GitVault, str]:
    repo = tmp_path / "r"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    for vp, data in files.items():
        path = repo / vp.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    return GitVault(repo), git(repo, "rev-parse", "HEAD").strip()


def index_tree(gv: GitVault, parent: str, changes: dict[str, bytes | None]) -> str:
    """What git's own index makes of the same change (deletions first, as fast-import)."""
    env = {**os.environ, "GIT_INDEX_FILE": str(gv.root / ".git" / "check-index")}

    def run(*args: str, input: bytes | None = None) -> str:
        return subprocess.run(
            ["git", *args], cwd=gv.root, env=env, input=input, capture_output=True, check=True
        ).stdout.decode()

    run("read-tree", parent)
    rows = []
    for vp, data in sorted(changes.items(), key=lambda kv: kv[1] is not None):
        raw = vp.encode("utf-8", "surrogateescape")
        if data is None:
            listed = run("ls-files", "-z", "--", vp).split("\0")
            for inside in [x for x in listed if x]:  # a deleted folder: every file in it
                rows.append(b"0 " + b"0" * 40 + b"\t" + inside.encode() + b"\0")
            rows.append(b"0 " + b"0" * 40 + b"\t" + raw + b"\0")
        else:
            rows.append(b"100644 " + blob_id(data).encode() + b"\t" + raw + b"\0")
            git(gv.root, "hash-object", "-w", "--stdin", input=data)
    run("update-index", "-z", "--replace", "--index-info", input=b"".join(rows))
    return run("write-tree").strip()


def small(gv: GitVault, parent: str, changes: dict[str, bytes | None]) -> str:
    spec: dict[str, smallcommit.Change] = {
        vp: None if data is None else (bytes.fromhex(blob_id(data)), data)
        for vp, data in changes.items()
    }
    return smallcommit.commit(gv, "refs/heads/main", parent, spec, "msg\n", WHEN, WHO)


def assert_same_as_git(gv: GitVault, parent: str, changes: dict[str, bytes | None]) -> str:
    expected = index_tree(gv, parent, changes)
    commit = small(gv, parent, changes)
    assert git(gv.root, "rev-parse", "HEAD").strip() == commit
    assert git(gv.root, "rev-parse", f"{commit}^{{tree}}").strip() == expected
    assert git(gv.root, "rev-parse", f"{commit}^").strip() == parent
    assert git(gv.root, "fsck", "--strict", "--no-dangling", "--no-progress") == ""
    for idx in (gv.root / ".git" / "objects" / "pack").glob("*.idx"):
        git(gv.root, "verify-pack", str(idx))
    return commit


def test_modified_added_and_deleted_files_make_gits_own_tree(tmp_path: Path) -> None:
    base = {f"s/{n}": n.encode("utf-8", "surrogateescape") for n in NAMES if n != "a"}
    base |= {f"s/a/{n}": b"in a " + n.encode("utf-8", "surrogateescape") for n in NAMES}
    base |= {"t/deep/er/x.json": b"x", "t/keep.json": b"k"}
    gv, parent = repo_with(tmp_path, base)
    changes: dict[str, bytes | None] = {
        "s/a.b": b"modified",
        "s/a/a0": b"modified below",
        "s/a-c": b"added between a-b and a",
        "s/new/deeper/n.json": b"added with two new folders",
        "s/m.json": None,
        "t/deep/er/x.json": None,  # the last file: both folders go
        "u.json": b"added at the root",
    }
    commit = assert_same_as_git(gv, parent, changes)
    tree = git(gv.root, "ls-tree", "-r", "--name-only", commit)
    assert "t/deep/er/x.json" not in tree and "t/keep.json" in tree


def test_a_file_where_a_folder_was_and_a_folder_where_a_file_was(tmp_path: Path) -> None:
    gv, parent = repo_with(tmp_path, {"s/x": b"a file", "s/d/1.json": b"1", "s/d/2.json": b"2"})
    changes: dict[str, bytes | None] = {
        "s/x": None,
        "s/x/inside.json": b"x is a folder now",
        "s/d/1.json": None,
        "s/d/2.json": None,
        "s/d": b"d is a file now",
    }
    assert_same_as_git(gv, parent, changes)


def test_everything_deleted_leaves_the_empty_tree(tmp_path: Path) -> None:
    gv, parent = repo_with(tmp_path, {"s/only.json": b"1"})
    commit = assert_same_as_git(gv, parent, {"s/only.json": None})
    assert git(gv.root, "ls-tree", commit) == ""


def test_random_changes_to_a_big_folder_match_git(tmp_path: Path) -> None:
    rng = random.Random(8)
    names = [
        f"{rng.getrandbits(40):010x}{rng.choice(['', '.json', '-x', '.md'])}" for _ in range(3000)
    ]
    base = {f"big/{n}": n.encode() for n in names}
    base |= {f"big/sub{k}/{n}": n.encode() for k in range(3) for n in names[:50]}
    gv, parent = repo_with(tmp_path, base)
    for round_ in range(3):
        changes: dict[str, bytes | None] = {}
        for vp in rng.sample(sorted(base), 60):
            changes[vp] = None if rng.random() < 0.3 else f"{vp} r{round_}".encode()
        for k in range(20):
            changes[f"big/{rng.getrandbits(32):08x}{k}.json"] = b"new %d" % k
        parent = assert_same_as_git(gv, parent, changes)
        base = {vp: d for vp, d in {**base, **changes}.items() if d is not None}


@pytest.mark.parametrize("vp", ["s/../x.json", "s//x.json", "s/.git/config", "./x.json"])
def test_a_path_git_would_refuse_is_declined(tmp_path: Path, vp: str) -> None:
    gv, parent = repo_with(tmp_path, {"s/a.json": b"1"})
    with pytest.raises(smallcommit.Declined):
        small(gv, parent, {vp: b"x"})
    assert git(gv.root, "rev-parse", "HEAD").strip() == parent  # nothing moved


def test_a_blob_id_that_is_not_its_bytes_is_declined(tmp_path: Path) -> None:
    gv, parent = repo_with(tmp_path, {"s/a.json": b"1"})
    wrong: dict[str, smallcommit.Change] = {"s/a.json": (bytes.fromhex(blob_id(b"2")), b"3")}
    with pytest.raises(smallcommit.Declined):
        smallcommit.commit(gv, "refs/heads/main", parent, wrong, "m\n", WHEN, WHO)
    assert git(gv.root, "rev-parse", "HEAD").strip() == parent


def test_a_sync_of_a_few_files_is_written_in_process(synced: Env) -> None:
    """The sync's own path: no fast-import pack, HEAD is the commit smallcommit made,
    and the vault's index follows it."""
    before = set((synced.vault / ".git" / "objects" / "pack").glob("*.pack"))
    src = synced.home / "mem"
    docs = [(p, json.loads(p.read_text())) for p in sorted(src.rglob("*.json"))]
    path, doc = next((p, d) for p, d in docs if isinstance(d, dict))
    path.write_text(json.dumps({**doc, "extra": 1}))
    (src / "brand-new.json").write_text('{"id": "n", "content": "new"}')
    synced.vs("sync", "--quiet")
    new = set((synced.vault / ".git" / "objects" / "pack").glob("*.pack")) - before
    assert len(new) == 1 and not next(iter(new)).with_suffix(".keep").exists()
    assert synced.git("status", "--porcelain") == ""
    assert synced.git("fsck", "--strict", "--no-dangling", "--no-progress") == ""
    assert "brand-new.json" in synced.git("show", "--stat", "HEAD")


KILLING_GIT = """#!/bin/sh
# The real git, but the sync that runs `update-ref` (smallcommit moving the branch) is
# killed first: its pack is published and the vault's index staged, HEAD not moved.
case " $* " in *" update-ref "*) kill -9 "$PPID"; sleep 1; exit 1;; esac
exec "$REAL_GIT" "$@"
"""


def test_a_sync_killed_before_the_branch_moves_is_settled_by_the_next(synced: Env) -> None:
    src = synced.home / "mem"
    (src / "brand-new.json").write_text('{"id": "n", "content": "new"}')
    head = synced.git("rev-parse", "HEAD").strip()
    bin_dir = synced.root / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(KILLING_GIT)
    (bin_dir / "git").chmod(0o755)
    killed_env = {**synced.env, "PATH": f"{bin_dir}:{synced.env['PATH']}"}
    killed_env["REAL_GIT"] = shutil.which("git") or "git"
    proc = subprocess.run(
        [sys.executable, "-m", "vaultsync", "sync", "-q"], env=killed_env, capture_output=True
    )
    assert proc.returncode == -9  # killed, at that moment
    assert synced.git("rev-parse", "HEAD").strip() == head  # the branch never moved
    synced.vs("sync", "--wait", "10")
    assert "mem/brand-new.json" in synced.head_files()
    assert synced.git("status", "--porcelain") == ""  # the index and HEAD agree again
    assert synced.git("fsck", "--strict", "--no-dangling", "--no-progress") == ""
    assert "nothing changed" in synced.vs("sync").stdout
