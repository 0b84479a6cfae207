"""`vaultsync watch` as a real process: files written, commits waited for (bounded)."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Env
from vaultsync import config
from vaultsync.commands.watch import Watched

BOUND_S = 60  # generous: the machine may be busy; a commit normally comes in well under 2 s


class Watch:
    def __init__(self, env: Env, *args: str, session: bool = False) -> None:
        self.env = env
        self.log = env.root / "watch.stderr"
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vaultsync", "watch", *args],
                env=env.env,
                cwd=env.root,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=session,  # its own process group, as a terminal gives
            )
        self.until(lambda: "watching" in self.stderr(), "the watcher to start")

    def stderr(self) -> str:
        return self.log.read_text()

    def until(self, done: Callable[[], bool], what: str, timeout: float = BOUND_S) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert self.proc.poll() is None, f"the watcher exited:\n{self.stderr()}"
            assert time.monotonic() < deadline, f"waited {timeout} s for {what}\n{self.stderr()}"
            time.sleep(0.05)

    def commits_reach(self, count: int) -> None:
        self.until(lambda: self.env.commits() >= count, f"commit #{count}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(BOUND_S)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def syncs(self) -> int:
        log = self.env.vault / ".vaultsync" / "vaultsync.log"
        return log.read_text().count(" sync: ") if log.exists() else 0


@pytest.fixture
def src(env: Env) -> Path:
    folder = env.home / "agent"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps({"id": "a", "content": "first"}))
    env.vs("init")
    env.vs("track", str(folder))
    env.vs("sync")
    return folder


@pytest.fixture
def watching(env: Env, src: Path) -> Iterator[Watch]:
    w = Watch(env, "--debounce", "300")
    yield w
    if w.proc.poll() is None:
        w.stop()


def record(i: int | str, content: str = "c") -> str:
    return json.dumps({"id": str(i), "content": content})


def test_a_write_is_committed(env: Env, src: Path, watching: Watch) -> None:
    before = env.commits()
    (src / "b.json").write_text(record("b"))
    watching.commits_reach(before + 1)
    assert env.head_files()["agent/b.json"] == record("b")
    assert watching.stop() == 0


def test_a_burst_of_writes_is_one_commit(env: Env, src: Path) -> None:
    w = Watch(env)  # the default debounce, 1 s
    before = env.commits()
    for i in range(300):
        (src / f"burst-{i}.json").write_text(record(i))
    w.commits_reach(before + 1)
    assert w.stop() == 0  # and its last sync finds nothing more
    assert env.commits() == before + 1
    assert sum(p.startswith("agent/burst-") for p in env.head_files()) == 300


def test_a_file_appended_without_pause_syncs_within_max_delay(env: Env, src: Path) -> None:
    w = Watch(env, "--debounce", "1000", "--max-delay", "2")
    live = src / "transcript.jsonl"
    before = env.commits()
    deadline = time.monotonic() + BOUND_S
    with open(live, "a") as f:
        # A write every 0.1 s: a 1 s debounce alone would wait for a pause that never comes.
        while env.commits() == before:
            assert time.monotonic() < deadline, w.stderr()
            f.write(json.dumps({"t": time.time()}) + "\n")
            f.flush()
            time.sleep(0.1)
    assert "agent/transcript.jsonl" in env.head_files()
    assert w.stop() == 0


def test_sigterm_commits_what_is_pending_and_exits_0(env: Env, src: Path) -> None:
    w = Watch(env, "--debounce", "600000")  # nothing would sync before the signal
    (src / "pending.json").write_text(record("p", "written just before shutdown"))
    time.sleep(0.3)
    assert w.stop(signal.SIGTERM) == 0
    assert env.head_files()["agent/pending.json"] == record("p", "written just before shutdown")
    assert "stopped" in w.stderr()


def lock_is_held(env: Env) -> bool:
    with open(env.vault / ".vaultsync" / "lock", "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def test_ctrl_c_to_the_process_group_mid_sync_finishes_the_commit(env: Env, src: Path) -> None:
    """A terminal's Ctrl-C signals the whole process group, git included: the commit in
    progress must still finish, and the watcher exit 0."""
    w = Watch(env, "--debounce", "100", session=True)
    before = env.commits()
    for i in range(40):  # about 80 MB: a sync that takes a while
        (src / f"many-{i}.json").write_text(record(i, os.urandom(1 << 20).hex()))
    w.until(lambda: lock_is_held(env) or env.commits() > before, "the sync to start")
    os.killpg(w.proc.pid, signal.SIGINT)
    assert w.proc.wait(BOUND_S) == 0, w.stderr()
    assert "error" not in w.stderr(), "the sync in progress was broken off"
    assert sum(p.startswith("agent/many-") for p in env.head_files()) == 40
    assert env.git("status", "--porcelain") == ""


def test_a_second_watcher_of_the_vault_is_refused(env: Env, watching: Watch) -> None:
    err = env.vs("watch", code=3).stderr
    assert f"another vaultsync watch (pid {watching.proc.pid}) is watching" in err
    assert watching.proc.poll() is None


def test_sigint_also_exits_0(env: Env, src: Path, watching: Watch) -> None:
    (src / "c.json").write_text(record("c"))
    assert watching.stop(signal.SIGINT) == 0
    assert "agent/c.json" in env.head_files()


def test_a_vault_locked_by_cron_is_retried_not_fatal(env: Env, src: Path, watching: Watch) -> None:
    before = env.commits()
    lock = env.vault / ".vaultsync" / "lock"
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # what a cron run of `vaultsync sync` holds
        (src / "d.json").write_text(record("d"))
        watching.until(lambda: "busy; trying again" in watching.stderr(), "the lock to be met")
        assert watching.proc.poll() is None
        assert env.commits() == before
    watching.commits_reach(before + 1)
    assert "agent/d.json" in env.head_files()


def test_a_source_that_appears_later_is_watched(env: Env, src: Path) -> None:
    later = env.home / "later"
    later.mkdir()
    env.vs("track", str(later))
    later.rmdir()  # an unmounted disk, a folder the agent creates on first run
    w = Watch(env, "--debounce", "200")
    before = env.commits()
    later.mkdir()
    (later / "m.json").write_text(record("m"))
    w.commits_reach(before + 1)
    assert "later/m.json" in env.head_files()
    (src / "e.json").write_text(record("e"))  # the first source is still watched
    w.commits_reach(before + 2)
    assert w.stop() == 0


def test_atomic_saves_of_a_folder_file_and_a_single_file_source(env: Env, src: Path) -> None:
    single = env.home / "graph.jsonl"
    single.write_text('{"type": "entity", "name": "A", "entityType": "t", "observations": []}\n')
    env.vs("track", str(single), "--name", "graph")
    w = Watch(env, "--debounce", "200")
    w.commits_reach(env.commits())  # started; its catch-up sync takes graph.jsonl in
    w.until(lambda: "graph/graph.jsonl" in env.head_files(), "the single file's first sync")
    before = env.commits()
    for path, text in ((src / "a.json", record("a", "saved atomically")), (single, "{}\n")):
        tmp = path.with_name(f".{path.name}.tmp")  # as editors and agents save
        tmp.write_text(text)
        os.replace(tmp, path)
    w.until(
        lambda: (
            env.head_files().get("agent/a.json") == record("a", "saved atomically")
            and env.head_files().get("graph/graph.jsonl") == "{}\n"
        ),
        "both atomic saves to be committed",
    )
    assert env.commits() > before
    assert w.stop() == 0


def test_a_source_folder_that_disappears_is_kept_and_watched_again(
    env: Env, src: Path, watching: Watch
) -> None:
    moved = env.home / "agent-away"
    src.rename(moved)  # an unmounted disk: nothing of it may be deleted from the vault
    watching.until(lambda: "sources changed" in watching.stderr(), "the folder to go")
    assert watching.proc.poll() is None
    moved.rename(src)
    before = env.commits()
    (src / "back.json").write_text(record("back"))
    watching.commits_reach(before + 1)
    assert {"agent/a.json", "agent/back.json"} <= set(env.head_files())


def test_a_broken_config_is_logged_and_the_watcher_goes_on(
    env: Env, src: Path, watching: Watch
) -> None:
    toml = env.vault / config.CONFIG_NAME
    good = toml.read_text()
    toml.write_text(good + "\n[[sources]\n")
    (src / "f.json").write_text(record("f"))
    watching.until(
        lambda: "watch-error" in log_text(env) or "not valid" in watching.stderr(),
        "the error to be logged",
    )
    assert watching.proc.poll() is None
    before = env.commits()
    toml.write_text(good)
    watching.commits_reach(before + 1)
    assert "agent/f.json" in env.head_files()


def log_text(env: Env) -> str:
    return (env.vault / ".vaultsync" / "vaultsync.log").read_text()


def test_only_tracked_paths_trigger(env: Env, src: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", env.env["HOME"])  # the config says ~/agent
    monkeypatch.setenv("VAULTSYNC_HOST", env.env["VAULTSYNC_HOST"])
    # A second source on the same folder (track now updates a tracked path instead of
    # adding a twin, so it is written by hand, as a user may).
    with open(env.vault / "vaultsync.toml", "a") as f:
        f.write(
            '\n[[sources]]\nname = "other"\npath = "~/agent"\nexclude = ["cache/**"]\n'
            f'host = "{env.env["VAULTSYNC_HOST"]}"\n'
        )
    watched = Watched.of(config.load(env.vault), env.vault)
    home = str(env.home)
    assert watched.relevant(f"{home}/agent/new.json")
    assert watched.relevant(f"{home}/agent/deep/er/new.jsonl")
    assert not watched.relevant(f"{home}/agent/notes.txt")  # not included
    assert watched.relevant(f"{home}/agent/cache/c.json")  # excluded by one source only
    assert not watched.relevant(f"{home}/agent/.git/x.json")  # git's own files
    assert not watched.relevant(f"{env.vault}/agent/a.json")  # the vault's own files


def fds_children_rss(pid: int) -> tuple[int, int, int]:
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    children = sum(
        len(Path(f"/proc/{pid}/task/{t}/children").read_text().split())
        for t in os.listdir(f"/proc/{pid}/task")
    )
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
    return fds, children, rss_kb


# 200 syncs, each a real commit (about 0.2 s apiece on a 2-core machine): a per-sync leak
# of a file, a process or GitPython's cat-file helpers shows up many times over; 500
# would add over a minute to every test run for the same verdict.
CYCLES = 200
WARM_UP = 40


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the watcher's /proc entries")
def test_many_sync_cycles_leave_files_children_and_memory_flat(env: Env, src: Path) -> None:
    w = Watch(env, "--debounce", "0")
    live = src / "live.json"
    measured: list[tuple[int, int, int]] = []
    i = 0
    start = w.syncs()
    for goal in (start + WARM_UP, start + CYCLES):
        deadline = time.monotonic() + 10 * CYCLES
        while w.syncs() < goal:
            assert time.monotonic() < deadline and w.proc.poll() is None, w.stderr()
            i += 1
            live.write_text(record("live", f"revision {i}"))
            time.sleep(0.02)
        time.sleep(0.5)  # between syncs: no git child is expected to be running
        measured.append(fds_children_rss(w.proc.pid))
    (fds0, _, rss0), (fds1, children1, rss1) = measured
    print(f"after {WARM_UP} and {CYCLES} syncs: fds {fds0} -> {fds1}, rss {rss0} -> {rss1} kB")
    assert fds1 <= fds0, f"open files grew from {fds0} to {fds1}"
    assert children1 == 0, "a child process outlived its sync"
    assert rss1 - rss0 < 8 * 1024, f"memory grew {rss1 - rss0} kB over {CYCLES - WARM_UP} syncs"
    assert w.stop() == 0
