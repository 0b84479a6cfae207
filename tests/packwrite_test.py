"""An append to a big file is stored as a git delta in a pack of vaultsync's own
(packwrite, packformat): git accepts every pack (fsck --full, verify-pack), every version
reads back, git's own repacks keep working, and every case it cannot prove declines to
storing the file whole (issue 8, "the store at the cost of what changed")."""

from __future__ import annotations

import json
import os
import random
import subprocess
import zlib
from pathlib import Path

import pytest

from tests import transcripts
from tests.conftest import Env
from tests.transcripts import line, synced_transcript
from vaultsync import packformat, packwrite
from vaultsync.gitvault import GitVault
from vaultsync.reader import blob_id

VP = "projects/big.jsonl"


def big_transcript(env: Env) -> Path:
    """A tracked, synced JSON Lines file over packwrite's 1 MiB floor."""
    path = synced_transcript(env, 2400)
    assert path.stat().st_size > 1 << 20
    return path


def append(path: Path, n: int, seed: int) -> None:
    transcripts.append(path, n, seed, 10_000)


def packs(vault: Path) -> list[Path]:
    return sorted((vault / ".git" / "objects" / "pack").glob("*.pack"))


def assert_git_accepts(env: Env) -> None:
    assert env.git("fsck", "--full", "--no-dangling", "--no-progress").strip() == ""
    for p in packs(env.vault):
        env.git("verify-pack", str(p.with_suffix(".idx")))


def verify(env: Env, pack: Path) -> str:
    return env.git("verify-pack", "-v", str(pack.with_suffix(".idx")))


def stored_as(env: Env, blob: str) -> str:
    """How `git verify-pack -v` lists a blob: 'blob SIZE DISK OFFSET [DEPTH BASE]'."""
    for p in packs(env.vault):
        for row in verify(env, p).splitlines():
            if row.startswith(blob):
                return row
    return ""


def sync_modified(env: Env) -> None:
    assert json.loads(env.vs("sync", "--json").stdout)["modified"] == [VP]


def test_appends_are_deltas_git_reads_back_every_version(env: Env) -> None:
    path = big_transcript(env)
    versions = [path.read_bytes()]
    for rep in range(4):
        append(path, 3, rep)
        sync_modified(env)
        versions.append(path.read_bytes())
        assert_git_accepts(env)
        blob = blob_id(versions[-1])
        row = stored_as(env, blob).split()
        assert len(row) == 7 and int(row[5]) == rep + 1, row  # a delta, depth rep + 1
        assert int(row[3]) < 20_000  # the appended bytes, not the file again
        # The index has the blob id that was validated: nothing for git to commit.
        assert env.git("ls-files", "-s", VP).split()[1] == blob
        assert env.git("status", "--porcelain") == ""
    # One pack of ours at a time (the last holds every version): the first version is
    # in the first import's pack and in ours, never in one more pack per sync.
    first_blob = blob_id(versions[0])
    holding = [p for p in packs(env.vault) if first_blob in verify(env, p)]
    assert len(holding) == 2
    for back, data in enumerate(reversed(versions)):
        out = subprocess.run(
            ["git", "cat-file", "blob", f"HEAD~{back}:{VP}"],
            cwd=env.vault,
            capture_output=True,
            check=True,
        ).stdout
        assert out == data
    # restore puts an old version back from those packs
    first = env.git("log", "--format=%H", "--", VP).split()[-1]
    env.vs("restore", "--at", first, VP, "--yes")
    assert path.read_bytes() == versions[0]


def test_git_repack_folds_our_packs_and_the_next_append_still_works(env: Env) -> None:
    path = big_transcript(env)
    for rep in range(3):
        append(path, 2, rep)
        sync_modified(env)
    ours = [p for p in packs(env.vault) if p.with_suffix(".keep").exists()]
    assert len(ours) == 1
    env.git("repack", "-d", "-q", "--geometric=2")
    assert_git_accepts(env)
    env.git("repack", "-a", "-d", "-q")
    assert_git_accepts(env)
    assert ours[0].exists()  # kept: the next append extends it rather than storing whole
    append(path, 2, 9)
    sync_modified(env)
    assert_git_accepts(env)
    assert env.git("show", f"HEAD:{VP}") == path.read_text()
    assert len(stored_as(env, blob_id(path.read_bytes())).split()) == 7
    assert not ours[0].exists()
    # Without our .keep (a repack -a -d then folds it), the next append still commits.
    for keep in (env.vault / ".git" / "objects" / "pack").glob("*.keep"):
        keep.unlink()
    env.git("repack", "-a", "-d", "-q")
    assert_git_accepts(env)
    append(path, 2, 10)
    sync_modified(env)
    assert_git_accepts(env)
    assert env.git("show", f"HEAD:{VP}") == path.read_text()


def test_past_max_depth_the_delta_is_made_against_the_whole_blob(tmp_path: Path) -> None:
    gv, path = git_repo(tmp_path)
    data = path.read_bytes()
    for rep in range(packwrite.MAX_DEPTH + 2):
        new = data + b'{"more": %d}\n' % rep
        assert packwrite.store_append(gv, blob_id(data), len(data), new, blob_id(new))
        data = new
    # 50 deltas each of the one before, then one of the whole blob, then one of that
    rows = verify_rows(gv)
    depths = sorted(int(r[5]) for r in rows if len(r) == 7)
    assert max(depths) == packwrite.MAX_DEPTH and depths.count(1) == 2
    assert git(gv, "cat-file", "blob", blob_id(data)) == data


# -- declining: the file is stored whole, as before -----------------------------------


def git_repo(tmp_path: Path) -> tuple[GitVault, Path]:
    """A plain git repository with a 1.2 MB file committed and packed."""
    root = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    path = root / "t.jsonl"
    rng = random.Random(1)
    path.write_text("".join(line(rng, i) for i in range(2000)))
    git(GitVault(root), "add", "t.jsonl")
    commit(GitVault(root))
    git(GitVault(root), "repack", "-a", "-d", "-q")
    return GitVault(root), path


def git(gv: GitVault, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=gv.root, capture_output=True, check=True).stdout


def commit(gv: GitVault) -> None:
    git(gv, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "v")


def verify_rows(gv: GitVault) -> list[list[str]]:
    out = []
    for p in (gv.git_dir / "objects" / "pack").glob("*.idx"):
        out += [r.split() for r in git(gv, "verify-pack", "-v", str(p)).decode().splitlines()]
    return [r for r in out if len(r) >= 5 and r[1] == "blob"]


def pack_names(gv: GitVault) -> set[str]:
    return {p.name for p in (gv.git_dir / "objects" / "pack").iterdir()}


def test_a_loose_base_declines(tmp_path: Path) -> None:
    gv, path = git_repo(tmp_path)
    old = path.read_bytes() + b'{"loose": 1}\n'
    path.write_bytes(old)
    git(gv, "add", "t.jsonl")  # a loose object: not in any pack
    before = pack_names(gv)
    new = old + b'{"x": 2}\n'
    assert not packwrite.store_append(gv, blob_id(old), len(old), new, blob_id(new))
    assert pack_names(gv) == before


def test_a_base_that_is_a_delta_in_a_pack_not_ours_declines(tmp_path: Path) -> None:
    gv, path = git_repo(tmp_path)
    old = path.read_bytes()
    # A bigger look-alike in history makes git store `old` as a delta of it.
    path.write_bytes(old + b'{"later": 1}\n' * 400)
    git(gv, "add", "t.jsonl")
    commit(gv)
    path.write_bytes(old)
    git(gv, "add", "t.jsonl")
    commit(gv)
    git(gv, "repack", "-a", "-d", "-f", "-q")
    assert any(r[0] == blob_id(old) and len(r) == 7 for r in verify_rows(gv))
    before = pack_names(gv)
    new = old + b'{"x": 2}\n'
    assert not packwrite.store_append(gv, blob_id(old), len(old), new, blob_id(new))
    assert pack_names(gv) == before


def test_a_pack_someone_else_keeps_is_left_alone(tmp_path: Path) -> None:
    gv, path = git_repo(tmp_path)
    v1 = path.read_bytes()
    v2 = v1 + b'{"x": 2}\n'
    assert packwrite.store_append(gv, blob_id(v1), len(v1), v2, blob_id(v2))
    (keep,) = (gv.git_dir / "objects" / "pack").glob("*.keep")
    assert keep.read_bytes() == packwrite.KEEP
    os.chmod(keep, 0o644)
    keep.write_text("kept by hand\n")
    before = pack_names(gv)
    v3 = v2 + b'{"x": 3}\n'
    assert not packwrite.store_append(gv, blob_id(v2), len(v2), v3, blob_id(v3))
    assert pack_names(gv) == before


def test_a_corrupt_base_entry_declines(tmp_path: Path) -> None:
    gv, path = git_repo(tmp_path)
    old = path.read_bytes()
    (pack,) = (gv.git_dir / "objects" / "pack").glob("*.pack")
    os.chmod(pack, 0o644)
    with open(pack, "r+b") as f:  # one flipped byte inside the blob's zlib stream
        f.seek(400)
        b = f.read(1)
        f.seek(400)
        f.write(bytes([b[0] ^ 0xFF]))
    new = old + b'{"x": 2}\n'
    assert not packwrite.store_append(gv, blob_id(old), len(old), new, blob_id(new))


def test_a_shrink_or_an_edit_is_stored_whole_and_the_next_append_is_a_delta_again(
    env: Env,
) -> None:
    path = big_transcript(env)
    data = path.read_bytes()
    cut = len(data) * 4 // 5
    path.write_bytes(data[: cut + data[cut:].index(b"\n") + 1])
    sync_modified(env)  # shrunk: not an append, stored through fast-import as before
    assert env.git("show", f"HEAD:{VP}") == path.read_text()
    text = path.read_text().replace('"i": 3,', '"i": 4,', 1)
    path.write_text(text + line(random.Random(2), 99))
    sync_modified(env)  # an old line edited, then one appended: not an append either
    assert env.git("show", f"HEAD:{VP}") == path.read_text()
    assert_git_accepts(env)
    append(path, 2, 5)
    sync_modified(env)
    assert len(stored_as(env, blob_id(path.read_bytes())).split()) == 7  # a delta again
    assert_git_accepts(env)
    assert env.git("show", f"HEAD:{VP}") == path.read_text()


# -- crashes -------------------------------------------------------------------------------


def test_a_kill_between_the_pack_and_its_index_is_repaired_by_the_next_sync(env: Env) -> None:
    path = big_transcript(env)
    pack_dir = env.vault / ".git" / "objects" / "pack"
    # What a kill after the pack's rename and before the .idx's leaves: the pack in
    # place, its index still under the temporary name.
    name = "ab" * 20
    packwrite._write(pack_dir / f"pack-{name}.pack", [b"PACK\0\0\0\2\0\0\0\0" + b"\0" * 20])
    packwrite._write(pack_dir / f"pack-{name}.keep", [packwrite.KEEP])
    packwrite._write(pack_dir / f"{packwrite.TMP_IDX}{name}", [b"partial"])
    packwrite._write(pack_dir / f"{packwrite.TMP_PACK}{'cd' * 20}", [b"PACK"])
    assert env.git("fsck", "--full", "--no-dangling", "--no-progress").strip() == ""
    append(path, 2, 1)
    sync_modified(env)
    left = sorted(p.name for p in pack_dir.iterdir())
    assert not [n for n in left if n.startswith("tmp_") or name in n], left
    assert_git_accepts(env)
    assert env.git("show", f"HEAD:{VP}") == path.read_text()


def test_syncs_killed_at_random_moments_leave_a_vault_git_accepts(env: Env) -> None:
    import signal
    import time

    from vaultsync.fsutil import pids_working_in

    path = big_transcript(env)
    rng = random.Random(11)
    for rep in range(6):
        append(path, 3, 100 + rep)
        proc = transcripts.started_sync(env)
        time.sleep(rng.uniform(0.05, 0.6))  # somewhere in start-up, the read, the pack...
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # A git child outlives its killed parent (a repack finishing its fold): fsck
        # beside a repack that drops packs can miss objects, so let it finish first.
        deadline = time.monotonic() + 120
        while pids_working_in(env.vault, "git") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert env.git("fsck", "--full", "--no-dangling", "--no-progress").strip() == ""
    sync = env.vs("sync", "--json", code=None)
    assert sync.returncode == 0, sync.stderr
    assert env.git("show", f"HEAD:{VP}") == path.read_text()
    pack_dir = env.vault / ".git" / "objects" / "pack"
    assert not [p.name for p in pack_dir.iterdir() if p.name.startswith("tmp_")]
    assert_git_accepts(env)


def test_a_full_disk_while_writing_the_delta_is_said_and_the_next_run_succeeds(
    env: Env,
) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    env.vault.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m,nr_inodes=400", "tmpfs", str(env.vault)],
        capture_output=True,
    )
    if mounted.returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        path = big_transcript(env)
        head = env.git("rev-parse", "HEAD")
        append(path, 2, 1)
        fillers = env.vault / "fill"
        fillers.mkdir()
        k = 0
        while True:  # every inode but one taken: the work-tree copy fits, the pack not
            try:
                (fillers / str(k)).touch()
            except OSError:
                break
            k += 1
        (fillers / "0").unlink()
        err = env.vs("sync", code=1).stderr
        assert "no space left on the vault's disk" in err, err
        assert env.git("rev-parse", "HEAD") == head
        pack_dir = env.vault / ".git" / "objects" / "pack"
        assert not [p for p in pack_dir.iterdir() if p.name.startswith("tmp_")]
        for f in fillers.iterdir():
            f.unlink()
        fillers.rmdir()
        assert env.git("fsck", "--full", "--no-dangling", "--no-progress").strip() == ""
        sync_modified(env)
        assert env.git("show", f"HEAD:{VP}") == path.read_text()
    finally:
        subprocess.run(["umount", "-l", str(env.vault)], capture_output=True)


# -- the formats ---------------------------------------------------------------------------


def test_an_append_delta_makes_its_target() -> None:
    rng = random.Random(4)
    base = rng.randbytes(300_000)
    target = base + rng.randbytes(1000)
    delta = packformat.append_delta(len(base), target)
    assert packformat.apply_delta(base, delta) == target
    assert packformat.appends_only(delta)
    assert not packformat.appends_only(packformat.varint(3) + packformat.varint(3) + b"\x03abc")
    with pytest.raises(packformat.PackFormatError):
        packformat.append_delta(0, target)


@pytest.mark.parametrize("distance", [1, 127, 128, 16511, 16512, 1 << 30])
def test_ofs_offsets_read_back(tmp_path: Path, distance: int) -> None:
    entry = packformat.entry_header(packformat.OBJ_OFS_DELTA, 70_000)
    entry += packformat.ofs_encoding(distance) + zlib.compress(b"x")
    at = packformat.PACK_HEADER + distance  # `distance` bytes after the first entry
    fd = os.open(tmp_path / "sparse", os.O_RDWR | os.O_CREAT)
    try:
        os.pwrite(fd, entry, at)
        e = packformat.read_entry(fd, at)
    finally:
        os.close(fd)
    assert (e.kind, e.size, e.base) == (packformat.OBJ_OFS_DELTA, 70_000, packformat.PACK_HEADER)


def test_an_index_reads_back_with_large_offsets() -> None:
    rng = random.Random(5)
    rows = [packformat.IdxEntry(rng.randbytes(20), rng.getrandbits(32), o) for o in (12, 5 << 31)]
    idx = packformat.Idx(packformat.write_idx(rows, b"\1" * 20))
    for r in rows:
        pos = idx.find(r.oid)
        assert pos is not None and (idx.offset(pos), idx.crc(pos)) == (r.offset, r.crc)
    assert idx.find(b"\0" * 20) is None and idx.pack_sha == b"\1" * 20
    assert sorted(idx.offsets()) == [12, 5 << 31]
