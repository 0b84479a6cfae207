"""What the scan finds on disk, and what it must refuse to infer (issue 9 items 3, 6, 14)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from tests.conftest import Env

ROOTLESS = ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")


def as_user() -> tuple[str, ...]:
    """Root lists any folder; without these capabilities it obeys the mode bits."""
    if os.geteuid() != 0:
        return ()
    assert shutil.which("setpriv"), "setpriv (util-linux) is needed to test this as root"
    return ROOTLESS


def test_a_folder_that_cannot_be_listed_deletes_nothing(env: Env) -> None:
    mem = env.records("mem", 3)
    (mem / "sub").mkdir()
    (mem / "sub" / "kept.json").write_text('{"id": "k", "content": "c"}')
    env.vs("sync")
    (mem / "sub").chmod(0)
    try:
        doc = json.loads(env.vs("sync", "--json", code=1, prefix=as_user()).stdout)
    finally:
        (mem / "sub").chmod(0o755)
    assert doc["deleted"] == []
    assert doc["commit"] is None
    assert "sub" in doc["unavailable"][0] and "nothing of it was deleted" in doc["unavailable"][0]
    assert "mem/sub/kept.json" in env.head_files()
    # Listable again: nothing to do, nothing was lost.
    assert "nothing changed" in env.vs("sync").stdout


def test_a_source_root_that_cannot_be_listed_deletes_nothing(env: Env) -> None:
    mem = env.records("mem", 3)
    mem.chmod(0)
    try:
        doc = json.loads(env.vs("sync", "--json", code=1, prefix=as_user()).stdout)
    finally:
        mem.chmod(0o755)
    assert doc["deleted"] == [] and doc["commit"] is None
    assert {"mem/0.json", "mem/1.json", "mem/2.json"} <= set(env.head_files())


def test_a_folder_source_replaced_by_a_file_is_unavailable(env: Env) -> None:
    mem = env.records("mem", 3)
    shutil.rmtree(mem)
    mem.write_text('{"id": "x", "content": "a file where the folder was"}')
    doc = json.loads(env.vs("sync", "--json", code=1).stdout)
    assert doc["commit"] is None and doc["added"] == [] and doc["deleted"] == []
    assert "not a folder" in doc["unavailable"][0]
    assert "mem/mem" not in env.head_files()


def test_a_folder_source_replaced_by_a_file_after_losing_the_state(env: Env) -> None:
    mem = env.records("mem", 3)
    (env.vault / ".last_sync").unlink()
    shutil.rmtree(mem)
    mem.write_text('{"id": "x", "content": "a file where the folder was"}')
    doc = json.loads(env.vs("sync", "--json", code=1).stdout)
    assert doc["commit"] is None, doc
    assert "mem/mem" not in env.head_files()


def test_a_source_that_contains_the_vault_skips_the_vault(env: Env) -> None:
    (env.home / "notes.json").write_text('{"id": "n", "content": "c"}')
    env.env["VAULTSYNC_VAULT"] = str(env.home / "vault")
    env.vault = env.home / "vault"
    env.vs("init")
    # `track` refuses a folder that holds the vault; a hand edit of the config does not.
    with open(env.vault / "vaultsync.toml", "a") as f:
        f.write(f'\n[[sources]]\nname = "home"\npath = "{env.home}"\n')
    doc = json.loads(env.vs("sync", "--json").stdout)
    assert doc["added"] == ["home/notes.json"]
    assert "nothing changed" in env.vs("sync").stdout
    assert not any(p.startswith("home/vault/") for p in env.head_files())


def test_a_newline_in_a_file_name_keeps_the_state_and_the_content_right(synced: Env) -> None:
    odd = synced.home / "mem" / "two\nlines.json"
    odd.write_text('{"id": "odd", "content": "newline in my name"}')
    plain = synced.home / "mem" / "plain.json"
    plain.write_text('{"id": "plain", "content": "plain"}')
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["added"] == ["mem/plain.json", "mem/two\nlines.json"]
    assert "nothing changed" in synced.vs("sync").stdout  # the state loads again
    odd.write_text('{"id": "odd", "content": "changed"}')
    plain.write_text('{"id": "plain", "content": "changed too"}')
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["modified"] == ["mem/plain.json", "mem/two\nlines.json"]
    odd.unlink()
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["deleted"] == ["mem/two\nlines.json"]  # a deletion is still seen


def test_a_file_name_that_is_not_utf8_is_committed_under_its_bytes(synced: Env) -> None:
    folder = os.fsencode(synced.home / "mem")
    with open(folder + b"/caf\xe9.json", "wb") as f:
        f.write(b'{"id": "latin1", "content": "named in latin-1"}')
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert len(doc["added"]) == 1
    names = subprocess.run(
        ["git", "ls-tree", "-r", "-z", "--name-only", "HEAD"],
        cwd=synced.vault,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    assert b"mem/caf\xe9.json" in names
    assert "nothing changed" in synced.vs("sync").stdout


def test_a_file_name_near_the_name_limit_is_committed(synced: Env) -> None:
    name = "m" * 250 + ".json"
    (synced.home / "mem" / name).write_text('{"id": "long", "content": "c"}')
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["added"] == [f"mem/{name}"]
    assert (synced.vault / "mem" / name).read_text() == '{"id": "long", "content": "c"}'
    assert "nothing changed" in synced.vs("sync").stdout
