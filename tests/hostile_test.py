"""Hostile shapes scripts/torture's hostile part found, each through the real command:
a damaged `.last_sync`, names that are not UTF-8, a folder that cannot be listed, a
folder source replaced by a file, a symlink loop."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

from tests.conftest import Env


def _no_dac() -> tuple[str, ...]:
    """Root reads anything; without these capabilities it obeys the mode bits."""
    if os.geteuid() != 0:
        return ()
    assert shutil.which("setpriv"), "setpriv (util-linux) is needed to test this as root"
    return ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")


def test_a_last_sync_nested_too_deeply_is_rebuilt(synced: Env) -> None:
    before = synced.commits()
    (synced.vault / ".last_sync").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    assert "nothing changed" in synced.vs("sync").stdout
    assert synced.commits() == before
    (synced.home / "mem" / "new.json").write_text('{"id": "n", "content": "c"}')
    assert json.loads(synced.vs("sync", "--json").stdout)["added"] == ["mem/new.json"]


def test_a_fifo_in_place_of_last_sync_is_rebuilt_not_waited_on(synced: Env) -> None:
    before = synced.commits()
    (synced.vault / ".last_sync").unlink()
    os.mkfifo(synced.vault / ".last_sync")
    synced.vs("sync", timeout=60)  # a hang would hold the lock and time out here
    assert synced.commits() == before
    synced.vs("sync", timeout=60)


def test_two_changed_names_that_are_not_utf8_are_committed_in_one_commit(synced: Env) -> None:
    mem = os.fsencode(synced.home / "mem")
    for name in (b"bad\xff.json", b"two\xfe.json", b"ok.json"):
        with open(os.path.join(mem, name), "wb") as f:
            f.write(b'{"id": "x", "content": "c"}')
    before = synced.commits()
    synced.vs("sync")
    assert synced.commits() == before + 1
    listed = subprocess.run(["git", "ls-tree", "-r", "-z", "--name-only", "HEAD"],
                            cwd=synced.vault, capture_output=True, check=True).stdout
    assert {b"mem/bad\xff.json", b"mem/two\xfe.json", b"mem/ok.json"} <= set(listed.split(b"\0"))
    assert synced.git("status", "--porcelain") == ""


def test_a_subfolder_that_cannot_be_listed_is_not_committed_as_deleted(synced: Env) -> None:
    inner = synced.home / "mem" / "inner" / "deeper"
    inner.mkdir(parents=True)
    (inner / "kept.json").write_text('{"id": "k", "content": "c"}')
    synced.vs("sync")
    (synced.home / "mem" / "fresh.json").write_text('{"id": "f", "content": "c"}')
    (synced.home / "mem" / "inner").chmod(0)
    try:
        proc = synced.vs("sync", "--json", code=1, prefix=_no_dac())
    finally:
        (synced.home / "mem" / "inner").chmod(0o755)
    doc = json.loads(proc.stdout)
    assert doc["deleted"] == []
    assert "mem/inner/deeper/kept.json" in synced.git("ls-tree", "-r", "--name-only", "HEAD")
    assert "cannot list folder" in proc.stderr and "nothing of it was deleted" in proc.stderr
    assert doc["unavailable"] and "inner" in doc["unavailable"][0]
    # What could be seen beside it still syncs.
    assert doc["added"] == ["mem/fresh.json"]


def test_a_folder_source_replaced_by_a_file_is_unavailable(synced: Env) -> None:
    before = synced.git("ls-tree", "-r", "--name-only", "HEAD")
    mem = synced.home / "mem"
    shutil.move(mem, synced.home / "mem.away")
    mem.write_text('{"id": "x", "content": "not the folder"}')
    err = synced.vs("sync", code=1).stderr
    assert "a file took its place" in err and "nothing of it was deleted" in err
    assert synced.git("ls-tree", "-r", "--name-only", "HEAD") == before


def test_a_symlink_loop_is_skipped_with_a_warning_naming_it(synced: Env) -> None:
    mem = synced.home / "mem"
    os.symlink("loop2.json", mem / "loop1.json")
    os.symlink("loop1.json", mem / "loop2.json")
    (mem / "a.json").write_text("{}")
    proc = synced.vs("sync", "--json")
    assert json.loads(proc.stdout)["added"] == ["mem/a.json"]
    assert "loop1.json: symlink loop" in proc.stderr


def test_a_subfolder_holding_a_fifo_is_still_looked_into_when_its_parent_is_unmoved(
    synced: Env,
) -> None:
    # A folder with a skipped entry is not recorded as accounted for; an unmoved parent
    # used to visit only recorded subfolders, so its files were committed as deleted.
    sub = synced.home / "mem" / "sub"
    sub.mkdir()
    (sub / "a.json").write_text('{"id": "a", "content": "c"}')
    os.mkfifo(sub / "p.json")
    synced.vs("sync")
    # Past git's racy window (state.RACY_WINDOW_NS): the next sync records the folders'
    # stats, the one after it takes the fast path.
    time.sleep(2.2)
    for _ in range(2):
        doc = json.loads(synced.vs("sync", "--json").stdout)
        assert doc["deleted"] == []
    assert "mem/sub/a.json" in synced.git("ls-tree", "-r", "--name-only", "HEAD")
