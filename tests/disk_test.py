"""The vault's disk full or read-only: a clear message, nothing left behind, and the
next run succeeds. Real mounts (a small tmpfs, a read-only bind mount): root only."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Env


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def small_disk(env: Env) -> Iterator[Env]:
    """The vault on a 1 MiB tmpfs."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    env.vault.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(env.vault)):
        pytest.skip("cannot mount a tmpfs here (no CAP_SYS_ADMIN?)")
    try:
        yield env
    finally:
        subprocess.run(["umount", "-l", str(env.vault)], capture_output=True)


def _leftovers(vault: Path) -> list[str]:
    pack = vault / ".git" / "objects" / "pack"
    junk = [p.name for p in pack.iterdir() if p.name.startswith("tmp_") or p.suffix == ".keep"]
    return junk + [p.name for p in vault.rglob("*.vaultsync-tmp")]


def test_a_full_disk_is_said_cleaned_up_and_the_next_run_succeeds(small_disk: Env) -> None:
    env = small_disk
    src = env.home / "mem"
    src.mkdir()
    (src / "small.json").write_text(json.dumps({"id": "s", "content": "fits"}))
    env.vs("init")
    env.vs("track", str(src))
    env.vs("sync")
    before = env.commits()
    noise = base64.b64encode(os.urandom(3 << 20)).decode()  # does not compress to 1 MiB
    (src / "big.json").write_text(json.dumps({"id": "b", "content": noise}))
    (src / "small.json").write_text(json.dumps({"id": "s", "content": "changed"}))
    err = env.vs("sync", code=1).stderr
    assert "no space left on the vault's disk" in err and "need ~" in err
    assert "internal error" not in err and "fast-import exited" not in err
    assert env.commits() == before
    assert _leftovers(env.vault) == []
    assert not (env.vault / "mem" / "big.json").exists()
    assert json.loads((env.vault / "mem" / "small.json").read_text())["content"] == "fits"
    assert env.git("fsck", "--no-dangling").strip() == ""
    # Space made (the agent shrank the file): the immediate retry commits everything.
    (src / "big.json").write_text(json.dumps({"id": "b", "content": "short now"}))
    doc = json.loads(env.vs("sync", "--json").stdout)
    assert doc["added"] == ["mem/big.json"] and doc["modified"] == ["mem/small.json"]


def test_a_read_only_vault_is_said_in_words(synced: Env) -> None:
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    vault = str(synced.vault)
    if not _mount("--bind", vault, vault):
        pytest.skip("cannot bind-mount here")
    try:
        if not _mount("-o", "remount,ro,bind", vault):
            pytest.skip("cannot remount read-only here")
        (synced.home / "mem" / "new.json").write_text('{"id": "n", "content": "c"}')
        err = synced.vs("sync", code=1).stderr
        assert "read-only file system" in err and "nothing was committed" in err
    finally:
        subprocess.run(["umount", "-l", vault], capture_output=True)
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["added"] == ["mem/new.json"]


def test_fast_import_out_of_diskspace_is_a_full_disk_too(small_disk: Env) -> None:
    # Found by scripts/torture: a file that fits in memory but not in the pack (git words
    # it "sha1 file '...tmp_pack_...' write error. Out of diskspace") was a raw
    # "fast-import exited 128" with a crash report left in .git.
    env = small_disk
    src = env.home / "mem"
    src.mkdir()
    (src / "small.json").write_text(json.dumps({"id": "s", "content": "fits"}))
    env.vs("init")
    env.vs("track", str(src))
    env.vs("sync")
    st = os.statvfs(env.vault)
    noise = base64.b64encode(os.urandom(st.f_bavail * st.f_frsize // 2)).decode()
    (src / "big.json").write_text(json.dumps({"id": "b", "content": noise}))
    err = env.vs("sync", code=1).stderr
    assert "no space left on the vault's disk" in err, err
    assert "fast-import exited" not in err
    assert not list((env.vault / ".git").glob("fast_import_crash_*"))
    assert _leftovers(env.vault) == []
    (src / "big.json").unlink()
    env.vs("sync")


def test_restore_into_a_read_only_vault_is_said_in_words(synced: Env) -> None:
    # Found by scripts/torture: restore's lock file could not be created on a read-only
    # vault and the run was "internal error (OSError)", exit 70.
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    vault = str(synced.vault)
    if not _mount("--bind", vault, vault):
        pytest.skip("cannot bind-mount here")
    try:
        if not _mount("-o", "remount,ro,bind", vault):
            pytest.skip("cannot remount read-only here")
        err = synced.vs("restore", "--at", "HEAD", "--yes", code=1).stderr
        assert "read-only file system" in err and "internal error" not in err
    finally:
        subprocess.run(["umount", "-l", vault], capture_output=True)
    synced.vs("restore", "--at", "HEAD", "--yes")


def test_a_restore_whose_snapshot_finds_the_disk_full_restores_nothing(small_disk: Env) -> None:
    # Found by scripts/torture (k-th call faults): the pre-restore snapshot's OSError
    # (copying into the vault's work tree) was "internal error", exit 70.
    env = small_disk
    src = env.home / "mem"
    src.mkdir()
    (src / "a.json").write_text(json.dumps({"id": "a", "content": "v1"}))
    env.vs("init")
    env.vs("track", str(src))
    env.vs("sync")
    (src / "a.json").write_text(json.dumps({"id": "a", "content": "v2"}))
    env.vs("sync")
    noise = base64.b64encode(os.urandom(3 << 20)).decode()  # not synced: to be snapshotted
    (src / "a.json").write_text(json.dumps({"id": "a", "content": noise}))
    err = env.vs("restore", "--at", "HEAD~1", "--yes", code=1).stderr
    assert "no space left" in err and "nothing was restored" in err, err
    assert json.loads((src / "a.json").read_text())["content"] == noise  # not replaced
    assert env.git("fsck", "--no-dangling").strip() == ""
    (src / "a.json").write_text(json.dumps({"id": "a", "content": "small again"}))
    env.vs("restore", "--at", "HEAD~1", "--yes")
    assert json.loads((src / "a.json").read_text())["content"] == "v1"
