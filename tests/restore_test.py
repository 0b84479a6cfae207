"""restore --at WHEN: real vault histories, through the command."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.conftest import Env

MCP = "mem/mcp/memory.jsonl"
RECORD = "mem/records/second-brain/31162427-3bfd-1d33-8d00-38ec42650644.json"
ENTITY = '{"type":"entity","name":"%s","entityType":"person","observations":[]}'


def commit_version(env: Env, text: str) -> str:
    (env.home / MCP).write_text(text)
    env.vs("sync")
    return env.git("rev-parse", "HEAD").strip()


def test_restore_a_file_at_a_commit_and_undo_it(synced: Env) -> None:
    first = synced.git("rev-parse", "HEAD").strip()
    original = synced.git("show", f"HEAD:{MCP}")
    commit_version(synced, ENTITY % "second")
    # An unsynced edit on disk: restore must keep it recoverable.
    (synced.home / MCP).write_text(ENTITY % "unsynced")
    proc = synced.vs("restore", "--at", first, MCP, "--yes")
    assert (synced.home / MCP).read_text() == original
    assert "pre-restore snapshot" in proc.stdout
    snapshot = synced.git("rev-parse", "HEAD").strip()
    assert "pre-restore snapshot" in synced.git("log", "-1", "--format=%s")
    assert synced.git("show", f"{snapshot}:{MCP}") == ENTITY % "unsynced"
    # Undo: restore the snapshot.
    synced.vs("restore", "--at", snapshot, str(synced.home / MCP), "--yes")
    assert (synced.home / MCP).read_text() == ENTITY % "unsynced"


def test_restore_by_date_picks_the_last_commit_at_or_before_it(synced: Env) -> None:
    original = synced.git("show", f"HEAD:{MCP}")
    stamp = synced.git("log", "-1", "--format=%cI").strip()
    time.sleep(1.1)
    commit_version(synced, ENTITY % "later")
    synced.vs("restore", "--at", stamp, MCP, "--yes")
    assert (synced.home / MCP).read_text() == original
    synced.vs("restore", "--at", "now", MCP, "--yes")
    assert (synced.home / MCP).read_text() == ENTITY % "later"


def test_bad_when_is_exit_2(synced: Env) -> None:
    err = synced.vs("restore", "--at", "2001-01-01", MCP, "--yes", code=2).stderr
    assert "before the vault's first commit" in err
    err = synced.vs("restore", "--at", "last tuesday", MCP, "--yes", code=2).stderr
    assert "neither a commit of this vault nor a date" in err
    assert "--at WHEN is required" in synced.vs("restore", MCP, code=2).stderr


def test_deleted_files_come_back_and_new_files_stay(synced: Env) -> None:
    at = synced.git("rev-parse", "HEAD").strip()
    (synced.home / RECORD).unlink()
    (synced.home / "mem" / "new.json").write_text("{}")
    synced.vs("sync")
    doc = json.loads(synced.vs("restore", "--at", at, "--yes", "--json").stdout)
    actions = {f["path"]: f["action"] for f in doc["files"]}
    assert actions[RECORD] == "create"
    assert actions[MCP] == "unchanged"
    assert (synced.home / RECORD).exists()
    assert (synced.home / "mem" / "new.json").exists()


def test_dry_run_lists_and_changes_nothing(synced: Env) -> None:
    at = synced.git("rev-parse", "HEAD").strip()
    commit_version(synced, ENTITY % "second")
    (synced.home / RECORD).unlink()
    before = (synced.home / MCP).read_text()
    out = synced.vs("restore", "--at", at, "--dry-run").stdout
    assert f"would overwrite {synced.home / MCP}" in out
    assert f"would create    {synced.home / RECORD}" in out
    assert (synced.home / MCP).read_text() == before
    assert not (synced.home / RECORD).exists()


def test_overwriting_needs_yes_without_a_terminal(synced: Env) -> None:
    at = synced.git("rev-parse", "HEAD").strip()
    commit_version(synced, ENTITY % "second")
    err = synced.vs("restore", "--at", at, MCP, code=2, input="").stderr
    assert "would overwrite 1 file(s)" in err and "--yes" in err
    assert (synced.home / MCP).read_text() == ENTITY % "second"


def test_restore_to_a_folder_leaves_sources_alone(synced: Env) -> None:
    at = synced.git("rev-parse", "HEAD").strip()
    commit_version(synced, ENTITY % "second")
    out = synced.root / "out"
    synced.vs("restore", "--at", at, "mem/records", "--to", str(out))
    assert (out / RECORD).read_text() == (synced.home / RECORD).read_text()
    assert not (out / MCP).exists()
    assert (synced.home / MCP).read_text() == ENTITY % "second"


def test_existing_files_keep_their_mode(synced: Env) -> None:
    at = synced.git("rev-parse", "HEAD").strip()
    commit_version(synced, ENTITY % "second")
    os.chmod(synced.home / MCP, 0o640)
    synced.vs("restore", "--at", at, MCP, "--yes")
    assert os.stat(synced.home / MCP).st_mode & 0o777 == 0o640


def test_restore_path_not_in_vault(synced: Env) -> None:
    err = synced.vs("restore", "--at", "HEAD", "mem/nope.json", "--yes", code=2).stderr
    assert "not in the vault at 'HEAD'" in err


def test_restore_takes_the_lock(synced: Env) -> None:
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time;from pathlib import Path;from vaultsync.fsutil import VaultLock;"
            "VaultLock(Path(sys.argv[1])).acquire();print('held',flush=True);time.sleep(30)",
            str(synced.vault / ".vaultsync" / "lock"),
        ],
        env=synced.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        (synced.home / RECORD).unlink()
        synced.vs("restore", "--at", "HEAD", RECORD, "--yes", code=3)
    finally:
        holder.kill()
        holder.wait()


def hold_lock(env: Env) -> Any:
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time;from pathlib import Path;from vaultsync.fsutil import VaultLock;"
            "VaultLock(Path(sys.argv[1])).acquire();print('held',flush=True);sys.stdin.read()",
            str(env.vault / ".vaultsync" / "lock"),
        ],
        env=env.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def test_a_write_made_while_restore_waits_for_the_lock_is_committed_first(synced: Env) -> None:
    import subprocess
    import sys

    first = synced.git("rev-parse", "HEAD").strip()
    original = synced.git("show", f"HEAD:{MCP}")
    commit_version(synced, ENTITY % "second")
    holder = hold_lock(synced)
    try:
        restore = subprocess.Popen(
            [sys.executable, "-m", "vaultsync", "restore", "--at", first, MCP, "--yes"]
            + ["--wait", "60"],
            env=synced.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(3)  # restore has planned and waits for the lock
        (synced.home / MCP).write_text(ENTITY % "written by the agent meanwhile")
    finally:
        holder.communicate("")
    out, err = restore.communicate(timeout=60)
    assert restore.returncode == 0, err
    assert (synced.home / MCP).read_text() == original
    assert synced.git("show", f"HEAD:{MCP}") == ENTITY % "written by the agent meanwhile"


def test_the_pre_restore_snapshot_never_commits_a_secret(synced: Env) -> None:
    from tests.secrets_sync_test import plant

    original = synced.git("show", f"HEAD:{MCP}")
    token = plant(synced)  # on disk only: a sync would reject it
    doc = json.loads(synced.vs("restore", "--at", "HEAD", MCP, "--yes", "--json").stdout)
    assert (synced.home / MCP).read_text() == original
    everything = synced.git("log", "--all", "-p", "--format=%B")
    assert token not in everything
    [kept] = doc["kept_outside_git"]
    assert kept.startswith(str(synced.vault / ".vaultsync" / "pre-restore"))
    assert kept.endswith(MCP)
    assert token in Path(kept).read_text()
    assert os.stat(kept).st_mode & 0o777 == 0o600
    human = synced.vs("restore", "--at", "HEAD", MCP, "--yes").stdout
    assert "unchanged" in human  # nothing left to keep the second time


def test_a_fifo_where_a_file_should_be_is_named_not_waited_on(synced: Env) -> None:
    target = synced.home / RECORD
    target.unlink()
    os.mkfifo(target)
    for extra in (["--dry-run"], ["--yes"]):
        err = synced.vs("restore", "--at", "HEAD", RECORD, *extra, code=2, timeout=20).stderr
        assert f"{target} is a FIFO" in err
    out = synced.vs("validate", str(target), code=1, timeout=20).stdout
    assert str(target) in out and "FIFO" in out


def test_restore_under_a_file_names_it(synced: Env) -> None:
    blocker = synced.root / "a-file"
    blocker.write_text("x")
    err = synced.vs("restore", "--at", "HEAD", "--to", str(blocker / "out"), code=2).stderr
    assert f"{blocker} is a file" in err
    folder = synced.home / "mem" / "records" / "second-brain"
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    folder.write_text("now a file")
    err = synced.vs("restore", "--at", "HEAD", RECORD, "--yes", code=2).stderr
    assert f"{folder} is a file" in err


def test_a_symlinked_file_stays_a_symlink(synced: Env) -> None:
    original = synced.git("show", f"HEAD:{RECORD}")
    link = synced.home / RECORD
    real = synced.root / "elsewhere.json"
    real.write_text('{"id": "x", "content": "changed"}')
    link.unlink()
    link.symlink_to(real)
    synced.vs("restore", "--at", "HEAD", RECORD, "--yes")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == original


def test_restore_removes_what_a_killed_restore_left_behind(synced: Env) -> None:
    folder = (synced.home / RECORD).parent
    ours = folder / f".{Path(RECORD).name}.k3j_9x0a.vaultsync-tmp"
    ours.write_text("half a write")
    theirs = folder / ".notes.vaultsync-tmp.bak"
    theirs.write_text("the user's")
    (synced.home / RECORD).unlink()
    synced.vs("restore", "--at", "HEAD", RECORD, "--yes")
    assert not ours.exists() and theirs.exists()


def test_a_write_made_while_restore_asks_stops_it_with_nothing_restored(synced: Env) -> None:
    import pty
    import sys

    first = synced.git("rev-parse", "HEAD").strip()
    commit_version(synced, ENTITY % "second")
    args = [sys.executable, "-m", "vaultsync", "restore", "--at", first, MCP]
    pid, fd = pty.fork()
    if pid == 0:  # the child: restore on a terminal, so it asks
        os.chdir(synced.root)
        os.execvpe(args[0], args, synced.env)
    said = b""
    while b"[y/N]" not in said:
        said += os.read(fd, 4096)
    (synced.home / MCP).write_text(ENTITY % "written while restore asked")
    os.write(fd, b"y\n")
    with contextlib.suppress(OSError):  # EIO once the child has exited
        while chunk := os.read(fd, 4096):
            said += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 2, said
    assert b"changed while restore was asking; nothing was restored" in said
    assert (synced.home / MCP).read_text() == ENTITY % "written while restore asked"


def test_restore_reads_files_with_a_newline_in_their_name_as_themselves(env: Env) -> None:
    """`HEAD:path` requests to `cat-file --batch` are one per line: a newline in a name
    shifted every answer after it, so one file's content came back under another's name."""
    folder = env.home / "notes"
    folder.mkdir()
    names = ["a.json", "odd\nname.json", "z.json"]
    for i, name in enumerate(names):
        (folder / name).write_text(json.dumps({"id": str(i), "content": name}))
    env.vs("init")
    env.vs("track", str(folder))
    env.vs("sync")
    out = env.root / "out"
    env.vs("restore", "--at", "HEAD", "--to", str(out), "--yes")
    for name in names:
        assert json.loads((out / "notes" / name).read_text())["content"] == name


AGENT_GIT = """#!/bin/sh
# The real git, but when restore's pre-restore snapshot is committed (by fast-import, or
# a small one's update-ref), the agent writes the file first: after restore read it,
# before restore writes it.
case " $* " in *" fast-import "*|*" update-ref "*) [ -f "$AGENT_FILE" ] \\
  && cp "$AGENT_FILE" "$AGENT_TARGET" && rm "$AGENT_FILE";; esac
exec "$REAL_GIT" "$@"
"""


def test_a_write_made_after_restore_read_the_file_is_left_alone_and_named(env: Env) -> None:
    mem = env.records("mem", 2, content="v1")
    for i in range(2):
        (mem / f"{i}.json").write_text(json.dumps({"id": str(i), "content": "v2"}))
    env.vs("sync")
    target = mem / "1.json"
    target.write_text(json.dumps({"id": "1", "content": "v3, not synced"}))  # snapshotted
    later = json.dumps({"id": "1", "content": "v4, written while restore ran"})
    (env.root / "agent.json").write_text(later)
    bin_dir = env.root / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(AGENT_GIT)
    (bin_dir / "git").chmod(0o755)
    real = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True)
    env.env.update(PATH=f"{bin_dir}:{env.env['PATH']}", REAL_GIT=real.stdout.strip(),
                   AGENT_FILE=str(env.root / "agent.json"), AGENT_TARGET=str(target))
    proc = env.vs("restore", "--at", "HEAD~1", "--yes", "--json", code=1)
    assert not (env.root / "agent.json").exists()  # the agent did write, mid-restore
    assert target.read_text() == later  # its write stands
    assert json.loads((mem / "0.json").read_text())["content"] == "v1"  # the rest restored
    doc = json.loads(proc.stdout)
    assert doc["changed_meanwhile"] == [str(target)]
    assert f"{target}: changed after restore read it; left as it is" in proc.stderr
    # What restore read of it is in the snapshot, so nothing is lost either way.
    assert "v3, not synced" in env.git("show", f"{doc['snapshot']}:mem/1.json")
    assert not [p for p in os.listdir(mem) if p.endswith("vaultsync-tmp")]
