"""I/O faults: libfiu's POSIX preload (`fiu-run -x`, reaching git's children too) makes
write(2), fsync(2), rename(2) and open(2) fail with ENOSPC or EIO for sync, restore and
init --from; then a real full disk (a small tmpfs) and a read-only vault.

libfiu has no "fail the k-th call" switch, so each point is swept by probability (from
one call in a hundred to every call: "persistently"); open is enabled through fiu-ctrl
at a random moment after start (failing Python's own imports would test Python, not
vaultsync). libfiu seeds its own random generator, so a sweep is not bit-reproducible;
the probabilities and points are."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time

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

POINTS = ("posix/io/rw/write", "posix/io/sync/fsync", "posix/io/dir/rename")
ERRNOS = {"ENOSPC": 28, "EIO": 5}
ZERO = ("exit_70", "tracebacks", "repos_corrupted", "sources_changed", "retry_failed",
        "changes_lost", "false_ok")


def available() -> str | None:
    """None when fiu-run works here, else why this part is skipped."""
    if shutil.which("fiu-run") and shutil.which("fiu-ctrl"):
        return None
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "fiu-utils"], capture_output=True)
        if shutil.which("fiu-run"):
            return None
    return "fiu-run not found (Debian package fiu-utils; install it as root) - I/O faults skipped"


def _faulty(lab: Lab, args: list[str], point: str, prob: float, err: int,
            rng: random.Random) -> Run:
    cmd = f"enable_random name={point},probability={prob},failinfo={err}"
    if point != "posix/io/oc/open":
        return lab.vs(*args, prefix=("fiu-run", "-x", "-c", cmd), timeout=120)
    fifo = str(lab.root / "fiuctl")
    proc = subprocess.Popen(["fiu-run", "-x", "-f", fifo, *lab.argv(*args)], env=lab.env,
                            cwd=lab.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(rng.uniform(0.3, 0.9))
    subprocess.run(["fiu-ctrl", "-f", fifo, "-c", cmd, str(proc.pid)], capture_output=True,
                   timeout=10)
    out, e = proc.communicate(timeout=120)
    return Run(proc.returncode, out.decode(errors="replace"), e.decode(errors="replace"))


def _judge(fig: Figures, what: str, r: Run) -> None:
    fig.add("faulty_runs")
    if r.code != 0:
        fig.add("runs_failed_cleanly" if r.code not in (70, -1) else "runs_failed_badly")
    if r.code == 70:
        fig.add("exit_70")
        fig.note(f"{what}: exit 70: {r.err[-300:]}")
    if "cannot load its own code" in r.err:
        # open(2) failed for one of vaultsync's lazily imported modules: said in words
        fig.add("own_code_unloadable")
    if r.traceback and "<frozen importlib" in r.err:
        # open(2) failed for one of Python's own modules (vaultsync imports lazily):
        # the interpreter cannot load its code; counted, not vaultsync's to handle.
        fig.add("python_import_failures")
    elif r.traceback:
        fig.add("tracebacks")
        fig.note(f"{what}: {r.err[-300:]}")
    if r.code == -1:
        fig.add("retry_failed")
        fig.note(f"{what}: hung")


def _sync_cases(fig: Figures, lab: Lab, cases: list[tuple[str, float, int]],
                rng: random.Random) -> None:
    for n, (point, prob, err) in enumerate(cases):
        for i in range(n % 4, lab.files, 4):
            lab.write(FORMATS[i % 4], i)
        before = tree_hash(lab.src)
        what = f"sync with {point} p={prob} errno={err}"
        r = _faulty(lab, ["sync"], point, prob, err, rng)
        _judge(fig, what, r)
        sync_recovers(fig, lab, what, r, before)


def _restore_cases(fig: Figures, lab: Lab, cases: list[tuple[str, float, int]],
                   rng: random.Random) -> None:
    for point, prob, err in cases:
        what = f"restore with {point} p={prob} errno={err}"
        for i in range(0, lab.files, 2):
            lab.write(FORMATS[i % 4], i)
        lab.vs("sync")
        r = _faulty(lab, ["restore", "--at", "HEAD~1", "--yes"], point, prob, err, rng)
        _judge(fig, what, r)
        known = lab.reachable_blobs()
        for vp, data in lab.sources().items():
            if blob_id(data) not in known:  # neither a version in the vault nor a snapshot
                fig.add("sources_changed")
                fig.note(f"{what}: {vp} holds content that is in no commit (torn write?)")
        restore_recovers(fig, lab, what)


def _init_cases(fig: Figures, lab: Lab, cases: list[tuple[str, float, int]],
                rng: random.Random) -> None:
    for n, (point, prob, err) in enumerate(cases):
        what = f"init --from with {point} p={prob} errno={err}"
        target = lab.root / f"clone{n}"
        args = ["--vault", str(target), "init", "--from", str(lab.vault)]
        r = _faulty(lab, args, point, prob, err, rng)
        _judge(fig, what, r)
        if r.code == 0:
            head = subprocess.run(["git", "-C", str(target), "rev-parse", "HEAD"],
                                  capture_output=True, text=True, env=lab.env).stdout
            if head.strip() != lab.git("rev-parse", "HEAD").strip():
                fig.add("false_ok")
                fig.note(f"{what}: exit 0 but the clone's HEAD is not the vault's")
            shutil.rmtree(target, ignore_errors=True)
            continue
        clean = lab.vs(*args)  # a failed clone must leave nothing in the retry's way
        if clean.code != 0:
            fig.add("retry_failed")
            fig.note(f"{what}: the clean retry exited {clean.code}: {clean.err[:300]}")
        shutil.rmtree(target, ignore_errors=True)


def _cases(quick: bool, rng: random.Random) -> list[tuple[str, float, int]]:
    probs = (0.05, 1.0) if quick else (0.01, 0.05, 0.2, 0.5, 1.0)
    points = (*POINTS, "posix/io/oc/open")
    out = [(p, pr, e) for p in points for pr in probs for e in ERRNOS.values()]
    rng.shuffle(out)
    return out[:2] if quick else out  # quick: the k-th call part covers more


def run(quick: bool, seed: int) -> Figures:
    fig = Figures("faults", zero=ZERO)
    why = available()
    if why:
        fig.note(why)
        fig.add("skipped")
        return fig
    rng = random.Random(seed)
    lab = Lab("faults", files=16)
    try:
        lab.setup()
        cases = _cases(quick, rng)
        _sync_cases(fig, lab, cases, rng)
        _restore_cases(fig, lab, cases if not quick else cases[:1], rng)
        _init_cases(fig, lab, cases if not quick else cases[:1], rng)
        from scripts.torturelib import disks

        disks.full_disk(fig, quick)
        disks.read_only(fig)
    finally:
        lab.cleanup()
    return fig

