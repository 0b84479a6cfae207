"""k-th call faults, the way SQLite tests I/O errors: the k-th write(2), fsync(2),
rename(2) or open(2) of a run fails with ENOSPC or EIO (once, or that one and every
later one: persistently), for k = 1, 2, ... until the run completes without reaching
k, for sync, restore and init --from. libfiu has no k-th call switch: kth.c, compiled
with gcc at run time, registers a libfiu external policy (fiu_enable_external) that
counts the calls of one point across the whole process tree (git's children too) in
a shared counter. open(2) is counted in git's processes only: failing the Python
interpreter's own imports would test Python, not vaultsync.

Each point: the sources untouched by sync and init (by restore: no file holding
content that is in no commit), fsck clean, a clear non-zero exit (never 70, never a
traceback, a `vaultsync:` message), an exit 0 only when the result is really there,
and the next clean run succeeds with nothing lost."""

from __future__ import annotations

import mmap
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from scripts.torturelib.lab import (
    FORMATS,
    Figures,
    Lab,
    Run,
    blob_id,
    restore_recovers,
    sync_recovers,
    tree_hash,
)

HERE = Path(__file__).resolve().parent
POSIX_PRELOAD = Path("/usr/lib/fiu/fiu_posix_preload.so")
LIBFIU = Path("/usr/lib/libfiu.so.0")
POINTS = {"write": "posix/io/rw/write", "fsync": "posix/io/sync/fsync",
          "rename": "posix/io/dir/rename", "open": "posix/io/oc/open"}
ERRNOS = {"ENOSPC": 28, "EIO": 5}
ZERO = ("exit_70", "tracebacks", "unclear_exits", "repos_corrupted", "sources_changed",
        "false_ok", "retry_failed", "changes_lost")


def build(where: Path) -> tuple[Path | None, str]:
    """The shim, compiled; or None and why this part is skipped."""
    if not shutil.which("gcc"):
        return None, "gcc not found (Debian package gcc) - k-th call faults skipped"
    if not (POSIX_PRELOAD.exists() and LIBFIU.exists()):
        return None, ("libfiu's POSIX preload not found (fiu-utils, libfiu0)"
                      " - k-th call faults skipped")
    out = where / "kth.so"
    p = subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(out), str(HERE / "kth.c"),
                        str(LIBFIU)], capture_output=True, text=True)
    if p.returncode != 0:
        return None, f"cannot compile kth.c: {p.stderr[:200]} - k-th call faults skipped"
    return out, ""


class Shim:
    def __init__(self, lab: Lab, so: Path) -> None:
        self.lab, self.so = lab, so
        self.counter = lab.root / "kth.count"

    def run(
        self, args: list[str], point: str, k: int, err: int, persist: bool
    ) -> tuple[Run, int, int]:
        """(the run, calls of the point counted, faults injected)."""
        self.counter.write_bytes(b"\0" * 16)
        env = [f"LD_PRELOAD={POSIX_PRELOAD}:{self.so}", f"KTH_POINT={POINTS[point]}",
               f"KTH_K={k}", f"KTH_ERRNO={err}", f"KTH_PERSIST={int(persist)}",
               f"KTH_COUNTER={self.counter}", f"KTH_ONLY={'git' if point == 'open' else ''}"]
        r = self.lab.vs(*args, prefix=("env", *env), timeout=120)
        with open(self.counter, "r+b") as f, mmap.mmap(f.fileno(), 16) as m:
            calls, faults = int.from_bytes(m[:8], "little"), int.from_bytes(m[8:], "little")
        return r, calls, faults


def ks(calls: int, cap: int) -> list[int]:
    """k = 1, 2, ... up to `calls` (the count of a clean run), at most `cap` of them:
    the first ones one by one, then spread evenly to the last call."""
    if calls <= cap:
        return list(range(1, calls + 1))
    head = list(range(1, max(1, cap // 2) + 1))
    rest = cap - len(head)
    if rest <= 0:
        return head
    step = (calls - head[-1]) / rest
    return head + sorted({min(calls, head[-1] + round(step * (i + 1))) for i in range(rest)})


def _judge(fig: Figures, what: str, r: Run, faults: int) -> bool:
    """Counts the run; True when it exited 0."""
    if " call 0 " in what:  # counting only: judged like the rest, counted apart
        fig.add("counting_runs")
    else:
        fig.add("faulty_runs")
    fig.add("faults_injected", faults)
    if r.code == 70:
        fig.add("exit_70")
        fig.note(f"{what}: exit 70: {r.err[-300:]}")
    if r.traceback:
        fig.add("tracebacks")
        fig.note(f"{what}: {r.err[-300:]}")
    if r.code == 0:
        fig.add("exit_0_despite_fault" if faults else "exit_0")
        return True
    if r.code == -1 or ("vaultsync:" not in r.err and " write " not in what):
        # (a failing write(2) may be the one that was to say why: not counted)
        fig.add("unclear_exits")
        fig.note(f"{what}: exit {r.code} without a vaultsync message: {r.err[-200:]}")
    elif r.code != 70 and not r.traceback:
        fig.add("runs_failed_cleanly")
    return False


def _sync_point(fig: Figures, lab: Lab, shim: Shim, n: int, point: str, k: int, err: int,
                persist: bool) -> int:
    for i in range(n % 3, lab.files, 3):
        lab.write(FORMATS[i % 4], i)
    before = tree_hash(lab.src)
    what = f"sync, {point} call {k} {'on' if persist else 'once'} errno {err}"
    r, calls, faults = shim.run(["sync"], point, k, err, persist)
    _judge(fig, what, r, faults)
    sync_recovers(fig, lab, what, r, before)
    return faults


def _restore_point(fig: Figures, lab: Lab, shim: Shim, n: int, point: str, k: int, err: int,
                   persist: bool) -> int:
    for i in range(n % 2, lab.files, 2):
        lab.write(FORMATS[i % 4], i)
    lab.vs("sync")
    for i in range(0, lab.files, 4):  # not synced: restore must snapshot these first
        lab.write(FORMATS[i % 4], i)
    unsynced = lab.sources()
    what = f"restore, {point} call {k} {'on' if persist else 'once'} errno {err}"
    r, calls, faults = shim.run(["restore", "--at", "HEAD~1", "--yes"], point, k, err, persist)
    _judge(fig, what, r, faults)
    known = lab.reachable_blobs()
    for vp, data in lab.sources().items():
        if blob_id(data) not in known and unsynced.get(vp) != data:
            fig.add("sources_changed")
            fig.note(f"{what}: {vp} holds content that is in no commit (a torn write?)")
    lost = [vp for vp, d in unsynced.items()
            if blob_id(d) not in known and lab.sources().get(vp) != d]
    if lost:  # replaced without its snapshot
        fig.add("changes_lost", len(lost))
        fig.note(f"{what}: replaced before its snapshot: {lost[:3]}")
    restore_recovers(fig, lab, what)
    return faults


def _init_point(fig: Figures, lab: Lab, shim: Shim, n: int, point: str, k: int, err: int,
                persist: bool) -> int:
    target = lab.root / f"clone{n}"
    args = ["--vault", str(target), "init", "--from", str(lab.vault)]
    what = f"init --from, {point} call {k} {'on' if persist else 'once'} errno {err}"
    before = tree_hash(lab.src)
    r, calls, faults = shim.run(args, point, k, err, persist)
    ok = _judge(fig, what, r, faults)
    if tree_hash(lab.src) != before:
        fig.add("sources_changed")
        fig.note(f"{what}: the sources changed")
    head = lab.git("rev-parse", "HEAD").strip()
    got = subprocess.run(["git", "-C", str(target), "rev-parse", "HEAD"], env=lab.env,
                         capture_output=True, text=True).stdout.strip()
    if ok and got != head:
        fig.add("false_ok")
        fig.note(f"{what}: exit 0 but the clone's HEAD is not the vault's")
    elif "only its output is lost" in r.err or (point == "write" and persist and got == head):
        # cloned; the failing write was its report (persistently: stderr's too)
        fig.add("done_but_output_lost")
        if got != head:
            fig.add("false_ok")
            fig.note(f"{what}: 'what the command did is done', but the clone is not")
    elif not ok:
        clean = lab.vs(*args)  # a failed clone leaves nothing in the retry's way
        if clean.code != 0:
            fig.add("retry_failed")
            fig.note(f"{what}: the clean retry exited {clean.code}: {clean.err[:300]}")
    shutil.rmtree(target, ignore_errors=True)
    return faults


Point = Callable[[Figures, Lab, Shim, int, str, int, int, bool], int]
COMMANDS: dict[str, Point] = {"sync": _sync_point, "restore": _restore_point,
                              "init": _init_point}
QUICK = (("sync", "rename", True), ("restore", "rename", False), ("init", "open", True))


def run(quick: bool, seed: int) -> Figures:
    fig = Figures("kth", zero=ZERO)
    lab = Lab("kth", files=12)
    try:
        so, why = build(lab.root)
        if so is None:
            fig.note(why)
            fig.add("skipped")
            return fig
        lab.setup()
        lab.vs("sync")
        shim = Shim(lab, so)
        combos = QUICK if quick else tuple(
            (c, p, persist) for c in COMMANDS for p in POINTS for persist in (False, True))
        cap = 1 if quick else 2
        n = 0
        for command, point, persist in combos:
            step = COMMANDS[command]
            # A clean run under the shim, counting only: how many calls a run makes.
            step(fig, lab, shim, n, point, 0, 0, persist)
            counted = int.from_bytes(shim.counter.read_bytes()[:8], "little")
            fig.add("points_swept")
            for k in [*ks(counted, cap), counted + 1]:
                n += 1
                err = list(ERRNOS.values())[(n + seed) % 2]
                faults = step(fig, lab, shim, n, point, k, err, persist)
                if not faults:  # the run completed before its k-th call: done with it
                    fig.add("runs_completed_past_k")
                    break
        if not lab.fsck_ok():
            fig.add("repos_corrupted")
    finally:
        lab.cleanup()
    return fig
