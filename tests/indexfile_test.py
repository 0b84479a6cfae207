"""The stat of a file this sync read and hashed goes into its per-source git index
without git hashing it again (indexfile.py): git reads the index back, reports nothing
modified, reports every later change, and any index it cannot patch safely falls back
to git's own refresh (issue 8, the append target)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests import transcripts
from tests.conftest import Env
from tests.transcripts import synced_transcript
from vaultsync import gitindex, indexfile, state
from vaultsync.reader import blob_id, read_snapshot

VP = "projects/big.jsonl"


def git(repo: Path, index: Path, root: Path, *args: str, stdin: bytes | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_INDEX_FILE=str(index), GIT_CONFIG_NOSYSTEM="1")
    cmd = ["git", f"--git-dir={repo / '.git'}", f"--work-tree={root}", *args]
    return subprocess.run(
        cmd, env=env, input=stdin, capture_output=True, check=True
    ).stdout.decode()


def debug_stat(repo: Path, index: Path, root: Path, name: str) -> dict[str, str]:
    """`git ls-files -s --debug`'s stat lines for one path, as git read them."""
    out = git(repo, index, root, "-c", "core.splitIndex=false", "ls-files", "-s", "--debug", name)
    fields: dict[str, str] = {}
    for row in out.splitlines()[1:]:
        for part in row.replace("\t", "  ").strip().split("  "):
            key, _, value = part.strip().partition(": ")
            fields[key] = value.strip()
    return fields


def expected_stat(path: Path) -> dict[str, str]:
    s = path.lstat()
    return {
        "ctime": f"{s.st_ctime_ns // 10**9}:{s.st_ctime_ns % 10**9}",
        "mtime": f"{s.st_mtime_ns // 10**9}:{s.st_mtime_ns % 10**9}",
        "dev": str(s.st_dev & 0xFFFFFFFF),
        "ino": str(s.st_ino & 0xFFFFFFFF),
        "uid": str(s.st_uid),
        "gid": str(s.st_gid),
        "size": str(s.st_size),
    }


def modified(repo: Path, index: Path, root: Path) -> list[str]:
    return git(repo, index, root, "ls-files", "-m").split()


def setup(
    tmp_path: Path, names: tuple[str, ...] = ("a.jsonl", "b.json")
) -> tuple[Path, Path, Path]:
    """A repository, a work tree of files and an index of their blobs, without stat."""
    repo, root = tmp_path / "vault", tmp_path / "src"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    index = tmp_path / "index"
    rows = b""
    for i, name in enumerate(names):
        data = b'{"n": %d}\n' % i
        (root / name).write_bytes(data)
        git(repo, index, root, "hash-object", "-w", "--stdin", stdin=data)
        rows += b"100644 " + blob_id(data).encode() + b"\t" + name.encode() + b"\0"
    git(
        repo,
        index,
        root,
        "-c",
        "core.splitIndex=false",
        "update-index",
        "-z",
        "--index-info",
        stdin=rows,
    )
    return repo, index, root


def wanted(root: Path, name: str) -> dict[bytes, indexfile.Wanted]:
    snap = read_snapshot(root / name)
    return {name.encode(): indexfile.Wanted(snap.blob, snap.stat)}


def test_git_reads_the_stat_back_and_sees_every_later_change(tmp_path: Path) -> None:
    repo, index, root = setup(tmp_path)
    assert debug_stat(repo, index, root, "a.jsonl")["size"] == "0"  # no stat yet: by content
    assert indexfile.record_stats(index, root, wanted(root, "a.jsonl")) == {b"a.jsonl"}
    assert debug_stat(repo, index, root, "a.jsonl") == {
        **expected_stat(root / "a.jsonl"),
        "flags": "0",
    }
    assert debug_stat(repo, index, root, "b.json")["size"] == "0"  # b untouched
    assert modified(repo, index, root) == []
    git(repo, index, root, "fsck", "--no-progress")  # git accepts the file as an index
    # A same-size rewrite at once (same second, maybe the same tick): git must see it,
    # by nanoseconds or by its racy rule (mtime not older than the index file's).
    (root / "a.jsonl").write_bytes(b'{"n": 9}\n')
    assert modified(repo, index, root) == ["a.jsonl"]
    (root / "a.jsonl").write_bytes(b'{"n": 0}\n{"more": 1}\n')
    assert modified(repo, index, root) == ["a.jsonl"]
    (root / "b.json").write_bytes(b'{"n": 2}\n')  # unstatted: compared by content
    assert modified(repo, index, root) == ["a.jsonl", "b.json"]


def test_the_stat_is_taken_only_by_the_blob_and_the_stat_that_were_read(tmp_path: Path) -> None:
    repo, index, root = setup(tmp_path)
    before = index.read_bytes()
    snap = read_snapshot(root / "a.jsonl")
    other = blob_id(b"something else")
    assert (
        indexfile.record_stats(index, root, {b"a.jsonl": indexfile.Wanted(other, snap.stat)})
        == set()
    )
    moved = [snap.stat[0], snap.stat[1] - 1, *snap.stat[2:]]
    assert (
        indexfile.record_stats(index, root, {b"a.jsonl": indexfile.Wanted(snap.blob, moved)})
        == set()
    )
    (root / "a.jsonl").unlink()
    assert (
        indexfile.record_stats(index, root, {b"a.jsonl": indexfile.Wanted(snap.blob, snap.stat)})
        == set()
    )
    assert index.read_bytes() == before  # nothing to patch: nothing written


def test_a_recent_file_with_whole_second_stamps_takes_no_stat(tmp_path: Path) -> None:
    """Where the file system stamps whole seconds, the check right before the write
    cannot see a rewrite in the same second: such a file is left to git's refresh."""
    repo, index, root = setup(tmp_path)
    whole = (time.time_ns() // 10**9) * 10**9
    os.utime(root / "a.jsonl", ns=(whole, whole))
    assert indexfile.record_stats(index, root, wanted(root, "a.jsonl")) == set()
    old = whole - 10 * 10**9  # long settled: a later rewrite moves the second
    os.utime(root / "a.jsonl", ns=(old, old))
    assert indexfile.record_stats(index, root, wanted(root, "a.jsonl")) == {b"a.jsonl"}


def test_the_snapshot_is_trusted_not_rehashed(tmp_path: Path) -> None:
    """The proof that git did not hash the file: an entry whose blob the file does not
    hash to still takes the stat the state names (a refresh would never record it).
    In a sync the blob is always the hash of the bytes read under that stat."""
    repo, index, root = setup(tmp_path, ("a.jsonl",))
    past = time.time_ns() - 10 * 10**9  # else racy (git compares seconds): hashed anyway
    os.utime(root / "a.jsonl", ns=(past, past))
    snap = read_snapshot(root / "a.jsonl")
    fake = blob_id(b"not the file")
    git(
        repo,
        index,
        root,
        "update-index",
        "-z",
        "--index-info",
        stdin=b"100644 " + fake.encode() + b"\ta.jsonl\0",
    )
    assert indexfile.record_stats(index, root, {b"a.jsonl": indexfile.Wanted(fake, snap.stat)}) == {
        b"a.jsonl"
    }
    assert modified(repo, index, root) == []


def _rewrite(index: Path, body: bytes) -> None:
    index.write_bytes(body + hashlib.sha1(body).digest())


def damaged(index: Path, how: str) -> None:
    data = index.read_bytes()
    body = data[:-20]
    if how == "version 4":
        _rewrite(index, body[:4] + (4).to_bytes(4, "big") + body[8:])
    elif how == "checksum":
        index.write_bytes(body + bytes(20))
    elif how == "required extension":
        _rewrite(index, body + b"link" + (4).to_bytes(4, "big") + b"abcd")
    elif how == "extension past the end":
        _rewrite(index, body + b"TREE" + (400).to_bytes(4, "big") + b"ab")
    elif how == "truncated":
        index.write_bytes(data[:50])
    elif how == "bad name length":
        b = bytearray(body)
        b[12 + 61] ^= 0x01
        _rewrite(index, bytes(b))
    elif how == "count too large":
        _rewrite(index, body[:8] + (99).to_bytes(4, "big") + body[12:])


@pytest.mark.parametrize(
    "how",
    [
        "version 4",
        "checksum",
        "required extension",
        "extension past the end",
        "truncated",
        "bad name length",
        "count too large",
    ],
)
def test_an_index_it_cannot_read_safely_is_left_as_it_is(tmp_path: Path, how: str) -> None:
    repo, index, root = setup(tmp_path)
    damaged(index, how)
    before = index.read_bytes()
    with pytest.raises(indexfile.Declined):
        indexfile.record_stats(index, root, wanted(root, "a.jsonl"))
    assert index.read_bytes() == before
    assert not index.with_name("index.lock").exists()


def test_a_held_lock_declines_and_is_not_removed(tmp_path: Path) -> None:
    repo, index, root = setup(tmp_path)
    lock = index.with_name("index.lock")
    lock.write_bytes(b"someone else's")
    with pytest.raises(indexfile.Declined):
        indexfile.record_stats(index, root, wanted(root, "a.jsonl"))
    assert lock.read_bytes() == b"someone else's"


def test_optional_extensions_are_dropped(tmp_path: Path) -> None:
    repo, index, root = setup(tmp_path)
    git(repo, index, root, "-c", "core.splitIndex=false", "write-tree")  # adds a TREE
    git(
        repo,
        index,
        root,
        "-c",
        "core.untrackedCache=true",
        "-c",
        "core.splitIndex=false",
        "update-index",
        "--untracked-cache",
    )
    assert b"TREE" in index.read_bytes() and b"UNTR" in index.read_bytes()
    assert indexfile.record_stats(index, root, wanted(root, "a.jsonl")) == {b"a.jsonl"}
    data = index.read_bytes()
    assert b"TREE" not in data and b"UNTR" not in data
    assert debug_stat(repo, index, root, "a.jsonl")["size"] != "0"
    assert modified(repo, index, root) == []


# -- through real syncs ------------------------------------------------------------------


def big_transcript(env: Env) -> Path:
    """A tracked, synced JSON Lines file over gitindex's refresh size."""
    path = synced_transcript(env, gitindex.REFRESH_BYTES // 600 + 100)
    assert path.stat().st_size > gitindex.REFRESH_BYTES
    return path


def append(path: Path, n: int, seed: int) -> None:
    transcripts.append(path, n, seed, 10_000_000)


def source_git(env: Env, *args: str) -> str:
    index = env.vault / ".vaultsync" / "index" / "projects"
    return git(env.vault, index, env.home / "projects", *args)


def test_an_appended_transcript_is_recorded_clean_after_its_sync(env: Env) -> None:
    path = big_transcript(env)
    index = env.vault / ".vaultsync" / "index" / "projects"
    for rep in range(2):
        append(path, 3, rep)
        doc = json.loads(env.vs("sync", "--json").stdout)
        assert doc["modified"] == [VP]
        assert debug_stat(env.vault, index, env.home / "projects", "big.jsonl") == {
            **expected_stat(path),
            "flags": "0",
        }
        assert source_git(env, "ls-files", "-m") == ""
        saved = state.load(env.vault)
        assert saved is not None and saved.indexes["projects"] == gitindex.checksum(index)
        assert b"link" not in index.read_bytes()[-200:]  # a whole index, not a split one
    with open(path, "r+b") as f:  # same size, in place, at once: one hex digit
        f.seek(-10, os.SEEK_END)
        digit = f.read(1)
        f.seek(-10, os.SEEK_END)
        f.write(b"a" if digit != b"a" else b"b")
    assert source_git(env, "ls-files", "-m").split() == ["big.jsonl"]
    assert json.loads(env.vs("sync", "--json").stdout)["modified"] == [VP]
    assert source_git(env, "ls-files", "-m") == ""
    append(path, 1, 9)
    assert json.loads(env.vs("sync", "--json").stdout)["modified"] == [VP]
    assert env.git("show", f"HEAD:{VP}").encode() == path.read_bytes()


def test_an_old_split_index_is_read_and_rewritten_whole(env: Env) -> None:
    path = big_transcript(env)
    index = env.vault / ".vaultsync" / "index" / "projects"
    source_git(env, "-c", "core.splitIndex=true", "update-index", "--split-index")
    assert b"link" in index.read_bytes()
    doc = json.loads((env.vault / ".last_sync").read_text())
    doc["indexes"]["projects"] = gitindex.checksum(index)  # the state names the split one
    (env.vault / ".last_sync").write_text(json.dumps(doc))
    assert "nothing changed" in env.vs("sync").stdout
    append(path, 2, 1)
    assert json.loads(env.vs("sync", "--json").stdout)["modified"] == [VP]
    data = index.read_bytes()
    assert indexfile._entries(data)  # a whole index: no `link` (which it would decline)
    assert debug_stat(env.vault, index, env.home / "projects", "big.jsonl")["size"] == str(
        path.stat().st_size
    )
    assert source_git(env, "ls-files", "-m") == ""


def test_syncs_killed_at_random_moments_leave_an_index_that_costs_time_only(env: Env) -> None:
    from vaultsync.fsutil import pids_working_in

    path = big_transcript(env)
    index = env.vault / ".vaultsync" / "index" / "projects"
    rng = random.Random(5)
    for rep in range(6):
        append(path, 2, 100 + rep)
        proc = transcripts.started_sync(env)
        time.sleep(rng.uniform(0.1, 0.9))  # start-up, the read, the pack, the index...
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 120
        while pids_working_in(env.vault, "git") and time.monotonic() < deadline:
            time.sleep(0.05)
    append(path, 1, 6)
    assert env.vs("sync", "--json", code=None).returncode == 0
    assert env.git("show", f"HEAD:{VP}").encode() == path.read_bytes()
    # What a kill inside the patch leaves: its lock file (git's update-index then
    # fails, the index is dropped and rebuilt).
    index.with_name("projects.lock").write_bytes(b"partial")
    append(path, 1, 7)
    assert json.loads(env.vs("sync", "--json").stdout)["modified"] == [VP]
    assert env.git("show", f"HEAD:{VP}").encode() == path.read_bytes()
    append(path, 1, 8)
    assert json.loads(env.vs("sync", "--json").stdout)["modified"] == [VP]
    assert env.git("show", f"HEAD:{VP}").encode() == path.read_bytes()
    assert source_git(env, "ls-files", "-m") == ""
    assert "nothing changed" in env.vs("sync").stdout


def test_gitindex_records_the_read_stat_of_a_big_hashed_file_instead_of_refreshing(
    tmp_path: Path,
) -> None:
    """Through gitindex.update, as a sync calls it: a file this run hashed itself (in
    `st.hashed`) takes its stat with no refresh; git's refresh would hash the file and,
    the blob here being another's on purpose, never record it."""
    vault, src = tmp_path / "vault", tmp_path / "src"
    src.mkdir()
    subprocess.run(["git", "init", "-q", str(vault)], check=True)
    for name in ("big.jsonl", "other.jsonl"):
        with open(src / name, "wb") as f:
            f.truncate(gitindex.REFRESH_BYTES + 1)  # sparse: big, and cheap to make
        past = time.time_ns() - 10 * 10**9
        os.utime(src / name, ns=(past, past))
    fake = blob_id(b"not the file")
    results = {}
    for hashed in (True, False):
        st = state.State(head=None, scanned_ns=1)
        st.roots["s"] = str(src)
        gitindex._remove(gitindex.index_path(vault, "s"))
        for rebuild in (True, False):  # the first write builds the index: refreshed whole
            st.touched.clear()
            for name in ("big.jsonl", "other.jsonl"):
                s = (src / name).stat()
                entry = state.Entry(s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino, fake)
                st.put(f"s/{name}", entry)
            if hashed and not rebuild:
                st.hashed.add("s/big.jsonl")
            gitindex.update(vault, st)
        assert st.indexes["s"] == gitindex.checksum(gitindex.index_path(vault, "s"))
        results[hashed] = gitindex.modified(vault, "s", str(src))
    assert results == {True: {"other.jsonl"}, False: {"big.jsonl", "other.jsonl"}}


def test_new_blobs_for_known_paths_are_written_without_git(tmp_path: Path) -> None:
    """set_blobs does what `update-index --index-info` does for paths already in the
    index: the new blob, and no stat unless the read's (the fake blob proves no hash)."""
    repo, index, root = setup(tmp_path)
    past = time.time_ns() - 10 * 10**9
    for name in ("a.jsonl", "b.json"):
        os.utime(root / name, ns=(past, past))
    os.utime(index, ns=(past + 10**9, past + 10**9))  # not racy: the index is newer
    fake, other = blob_id(b"not the file"), blob_id(b"b's next version")
    snap = read_snapshot(root / "a.jsonl")
    done = indexfile.set_blobs(
        index,
        root,
        {b"a.jsonl": fake, b"b.json": other},
        {b"a.jsonl": indexfile.Wanted(fake, snap.stat)},
    )
    assert done == {b"a.jsonl"}
    rows = git(repo, index, root, "ls-files", "-s").splitlines()
    assert rows == [f"100644 {fake} 0\ta.jsonl", f"100644 {other} 0\tb.json"]
    assert debug_stat(repo, index, root, "b.json")["size"] == "0"  # compared by content
    assert modified(repo, index, root) == ["b.json"]


def test_set_blobs_leaves_new_paths_and_big_indexes_to_git(tmp_path: Path) -> None:
    repo, index, root = setup(tmp_path)
    before = index.read_bytes()
    with pytest.raises(indexfile.Declined):
        indexfile.set_blobs(index, root, {b"new.json": blob_id(b"x")}, {})
    rows = b"".join(
        b"100644 %s\tf%05d.json\0" % (blob_id(b"x").encode(), i)
        for i in range(indexfile.MAX_ENTRIES_SET + 1)
    )
    big = tmp_path / "big-index"
    git(
        repo,
        big,
        root,
        "-c",
        "core.splitIndex=false",
        "update-index",
        "-z",
        "--index-info",
        stdin=rows,
    )
    big_before = big.read_bytes()
    with pytest.raises(indexfile.Declined):
        indexfile.set_blobs(big, root, {b"f00000.json": blob_id(b"y")}, {})
    assert index.read_bytes() == before and big.read_bytes() == big_before


def test_an_entry_racy_against_the_index_read_is_smudged(tmp_path: Path) -> None:
    """git's rule when it writes an index: an entry whose mtime is not older than the
    index it read is compared by content from then on (its size set to 0)."""
    repo, index, root = setup(tmp_path)
    past = time.time_ns() - 10 * 10**9
    os.utime(root / "b.json", ns=(past, past))
    git(repo, index, root, "-c", "core.splitIndex=false", "update-index", "--refresh")
    assert debug_stat(repo, index, root, "b.json")["size"] != "0"
    os.utime(index, ns=(past, past))  # the index as old as b's stat: b is racy
    indexfile.set_blobs(index, root, {b"a.jsonl": blob_id(b"x")}, {})
    assert debug_stat(repo, index, root, "b.json")["size"] == "0"
    assert modified(repo, index, root) == ["a.jsonl"]  # b still compared, and clean


def test_only_a_small_source_gets_a_whole_index_file() -> None:
    """Past MAX_ENTRIES_SET files a whole index would cost git a full rewrite at every
    sync (8.8 MB at 100,000 files): a big source's index is left to the vault's
    core.splitIndex=true."""
    st = state.State(head=None, scanned_ns=1)
    for i in range(indexfile.MAX_ENTRIES_SET):
        st.put(f"s/f{i}.json", state.Entry(1, 1, 1, 1, blob_id(b"x")))
    assert gitindex.whole_file(st, "s")
    st.put("s/one-more.json", state.Entry(1, 1, 1, 1, blob_id(b"x")))
    assert not gitindex.whole_file(st, "s")


def test_a_big_source_syncs_an_in_place_edit_through_its_index(env: Env) -> None:
    folder = env.records("many", indexfile.MAX_ENTRIES_SET + 1)
    index = env.vault / ".vaultsync" / "index" / "many"
    path = folder / "7.json"
    with open(path, "r+b") as f:  # in place: the folder's stat does not move
        f.write(path.read_bytes().replace(b'"c"', b'"C"'))
    assert json.loads(env.vs("sync", "--json").stdout)["modified"] == ["many/7.json"]
    assert env.git("show", "HEAD:many/7.json").encode() == path.read_bytes()
    assert git(env.vault, index, folder, "ls-files", "-m") == ""
    assert "nothing changed" in env.vs("sync").stdout


def test_a_fifo_in_the_index_place_declines_without_waiting(tmp_path: Path) -> None:
    repo, index, root = setup(tmp_path)
    index.unlink()
    os.mkfifo(index)
    with pytest.raises(indexfile.Declined, match="regular"):
        indexfile.record_stats(index, root, wanted(root, "a.jsonl"))
