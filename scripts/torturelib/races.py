"""Races: four `sync` loops, a `watch` and `restore` runs while a writer changes files; then an
orphaned git holding `.git/index.lock` when a sync starts."""

from __future__ import annotations

import random
import subprocess
import threading
import time

from scripts.torturelib.lab import Figures, Lab, Writer, blob_id

ZERO = ("bad_exits", "tracebacks", "repos_corrupted", "not_converged", "writes_lost",
        "lock_deleted_under_git")


def _loop(lab: Lab, fig: Figures, args: list[str], stop: threading.Event,
          rng: random.Random) -> None:
    while not stop.is_set():
        r = lab.vs(*args, timeout=120)
        with lab.lock:
            fig.add(f"runs_{args[0]}")
            fig.add(f"exit_{r.code}")
            if r.code not in (0, 1, 3):
                fig.add("bad_exits")
                fig.note(f"{args[0]}: exit {r.code}: {r.err[:200]}")
            if r.traceback:
                fig.add("tracebacks")
                fig.note(r.err[-300:])
        stop.wait(rng.uniform(0, 0.3))


def concurrent(fig: Figures, seconds: float, seed: int) -> None:
    lab = Lab("races", files=24)
    try:
        lab.setup()
        for _ in range(3):
            for i in range(0, lab.files, 2):
                lab.write(("mcp", "mem0", "records", "notes")[i % 4], i)
            lab.vs("sync")
        writer = Writer(lab, seed, pause=0.05)
        writer.start()
        stop = threading.Event()
        jobs = [["sync", "--json"]] * 4 + [["restore", "--at", "HEAD~2", "--yes"],
                                           ["restore", "--at", "HEAD~3", "--merge", "--yes"]]
        threads = [threading.Thread(target=_loop, args=(lab, fig, j, stop, random.Random(seed + k)))
                   for k, j in enumerate(jobs)]
        watch = subprocess.Popen(lab.argv("watch", "--debounce", "100", "-q"), env=lab.env,
                                 cwd=lab.root, stderr=subprocess.PIPE)
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()
        watch.terminate()  # SIGTERM: syncs what is pending, then exits
        _, werr = watch.communicate(timeout=120)
        fig.add(f"watch_exit_{watch.returncode}")
        if watch.returncode == 70 or b"Traceback" in werr:
            fig.add("bad_exits")
            fig.note(f"watch: exit {watch.returncode}: {werr.decode(errors='replace')[-300:]}")
        writer.halt()
        fig.add("writes", writer.writes)
        if not lab.fsck_ok():
            fig.add("repos_corrupted")
        r = lab.vs("sync", "--json")
        if r.code not in (0, 1) or lab.head() != lab.sources():
            fig.add("not_converged")
            fig.note(f"final sync exit {r.code}; HEAD equal to the sources: "
                     f"{lab.head() == lab.sources()}")
        known = lab.reachable_blobs()
        for path, data in writer.overwritten:  # a write some restore replaced
            if blob_id(data) not in known:
                fig.add("writes_lost")
                fig.note(f"a write to {path.name} was overwritten by a restore and is in no commit")
        fig.add("writes_overwritten_by_restore", len(writer.overwritten))
    finally:
        lab.cleanup()


def orphan_lock(fig: Figures) -> None:
    """A `git update-index --stdin` fed by a pipe kept open holds index.lock, as an
    orphaned child of a killed run would: the next sync must not delete it."""
    lab = Lab("orphan", files=8)
    try:
        lab.setup()
        lock = lab.vault / ".git" / "index.lock"
        git = subprocess.Popen(["git", "update-index", "--stdin"], cwd=lab.vault, env=lab.env,
                               stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        for _ in range(100):
            if lock.exists():
                break
            time.sleep(0.05)
        ino = lock.stat().st_ino if lock.exists() else None
        if ino is None:
            fig.note("orphan: git update-index did not take index.lock; case not run")
            git.kill()
            return
        lab.write("mcp", 0)
        r = lab.vs("sync", timeout=60)
        fig.add("orphan_runs")
        fig.add(f"orphan_exit_{r.code}")
        fig.note(f"sync beside a live index.lock holder: exit {r.code}: {r.err.strip()[:240]}")
        if r.code != 3 or r.traceback:  # README: 3 = a lock is held
            fig.add("bad_exits")
        if not lock.exists() or lock.stat().st_ino != ino:
            fig.add("lock_deleted_under_git")
            fig.note(f"sync (exit {r.code}) removed index.lock while git held it")
        assert git.stdin is not None
        git.stdin.close()
        git.wait(timeout=30)
        if not lab.fsck_ok():
            fig.add("repos_corrupted")
        r = lab.vs("sync", "--json")
        if r.code != 0 or lab.head() != lab.sources():
            fig.add("not_converged")
            fig.note(f"after the git exited, sync exit {r.code}: {r.err[:200]}")
    finally:
        lab.cleanup()


def run(seconds: float, seed: int) -> Figures:
    fig = Figures("races", zero=ZERO)
    concurrent(fig, seconds, seed)
    orphan_lock(fig)
    return fig
