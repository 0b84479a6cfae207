"""Crash: sync, restore, restore --merge and watch as real processes, SIGKILLed at random
moments (the process alone, or its whole group) while a writer changes memory files."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

from scripts.torturelib.lab import Figures, Lab, Run, Writer

KINDS = ("sync", "restore", "merge", "watch")
RETRIES = 3  # clean syncs after a kill, one of which must exit 0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop_group(pgid: int) -> bool:
    """SIGKILL what is left of a killed run's process group; True once it is gone."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + 10
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _group_alive(pgid)


def _command(kind: str, lab: Lab, rng: random.Random) -> list[str]:
    if kind == "sync":
        return lab.argv("sync", "--json")
    if kind == "watch":
        return lab.argv("watch", "--debounce", "150", "-q")
    back = f"HEAD~{rng.randint(1, 3)}"
    if kind == "restore":
        return lab.argv("restore", "--at", back, "--yes")
    return lab.argv("restore", "--at", back, "--merge", "--yes")


def _committed(out: str) -> str | None:
    try:
        doc = json.loads(out)
    except ValueError:
        return None
    commit = doc.get("commit") if isinstance(doc, dict) else None
    return commit if isinstance(commit, str) else None


def _judge(fig: Figures, r: Run, reported: list[str]) -> None:
    """Counts a sync's traceback or exit 70 and keeps the commit it reported."""
    if r.traceback:
        fig.add("tracebacks")
        fig.note(r.err[-300:])
    if r.code == 70:
        fig.add("exit_70")
    if c := _committed(r.out):
        reported.append(c)


def _recover(fig: Figures, lab: Lab, writer: Writer, reported: list[str]) -> str | None:
    """After a kill whose next sync did not exit 0: with the writer paused and no orphan
    left, one of RETRIES clean syncs must exit 0 with HEAD equal to the sources. None when
    one does, else what the last one said.

    Exit 1 is not accepted here: the writer writes only valid files, each atomically,
    and not while paused; a restore puts back versions from history, whose records,
    mem0 items and MCP entities keep their ids, so nothing forgets. No file, guard or
    alert of the input can answer 1, so a 1 that lasts is the vault not recovering (as
    a stale ref lock once made every later sync exit 1)."""
    said = ""
    with writer.paused():
        for attempt in range(1, RETRIES + 1):
            r = lab.vs("sync", "--json")
            fig.add("clean_syncs")
            _judge(fig, r, reported)
            if r.code == 0:
                if lost := lab.unlike_head():
                    fig.add("false_ok")
                    return f"exit 0, yet HEAD differs from the sources in {lost[:3]}"
                fig.add(f"recovered_at_clean_sync_{attempt}")
                return None
            said = f"exit {r.code}: {r.err[:300] or r.out[-300:]}"  # its reason comes first
    return f"no exit 0 in {RETRIES} clean syncs (writer paused, no orphan); last {said}"


def run(kills: int, seed: int) -> Figures:
    fig = Figures(
        "crash",
        zero=("repos_corrupted", "changes_lost", "runs_blocked", "false_ok", "tracebacks",
              "exit_70"),
    )
    rng = random.Random(seed)
    lab = Lab("crash", files=24)
    reported: list[str] = []
    try:
        lab.setup()
        for _ in range(3):  # some history for restore to go back to
            for i in range(0, lab.files, 3):
                lab.write(("mcp", "mem0", "records", "notes")[i % 4], i)
            lab.vs("sync")
        writer = Writer(lab, seed, pause=0.15)
        writer.start()
        for n in range(kills):
            kind = KINDS[n % len(KINDS)]
            fig.add("runs")
            whole_group = n % 2 == 1
            proc = subprocess.Popen(
                _command(kind, lab, rng), env=lab.env, cwd=lab.root, start_new_session=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
            # sync and restore of 24 files take ~0.3-0.7 s here, Python's start included
            time.sleep(rng.uniform(0.3, 2.5) if kind == "watch" else rng.uniform(0.05, 0.6))
            finished = proc.poll() is not None
            if not finished:
                if whole_group:
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.kill()
                fig.add("kills")
                fig.add(f"kills_{kind}")
            out, err = proc.communicate()
            if finished:
                fig.add("finished_before_kill")
                if kind == "sync" and (c := _committed(out.decode(errors="replace"))):
                    reported.append(c)
                if b"Traceback" in err:
                    fig.add("tracebacks")
                    fig.note(f"{kind}: {err.decode(errors='replace')[-300:]}")
                if proc.returncode == 70:
                    fig.add("exit_70")
            orphans = _group_alive(proc.pid)
            if orphans:
                fig.add("orphans_left")
            if not lab.fsck_ok():
                said = lab.fsck_said
                if orphans and _stop_group(proc.pid) and lab.fsck_ok():
                    # A killed run's git (a repack) was still swapping packs under fsck:
                    # once it is gone the repository is whole, so this is not corruption.
                    fig.add("fsck_beside_live_git")
                    fig.note(f"fsck beside a live git after killing {kind} (kill #{n}): {said}")
                else:
                    fig.add("repos_corrupted")
                    fig.note(f"fsck failed after killing {kind} (kill #{n}): {lab.fsck_said}")
            nxt = lab.vs("sync", "--json")  # beside the writer, and any orphan left
            _judge(fig, nxt, reported)
            blocked = None
            if nxt.code == 3 and not orphans:
                blocked = f"exit 3 with no live process: {nxt.err[:200]}"
            elif nxt.code not in (0, 1, 3):
                blocked = f"exit {nxt.code}: {nxt.err[:200]}"
            if orphans and not _stop_group(proc.pid):  # never race the next kill
                fig.note(f"kill #{n}: {kind}'s orphans outlived SIGKILL for 10 s")
            if nxt.code != 0 and blocked is None:
                blocked = _recover(fig, lab, writer, reported)
            if blocked:
                fig.add("runs_blocked")
                fig.note(f"sync after killed {kind} (kill #{n}): {blocked}")
            else:
                fig.add("recovered")
        writer.halt()
        fig.add("writes", writer.writes)
        final = lab.vs("sync", "--json")
        _judge(fig, final, reported)
        if final.code != 0:  # nothing writes now: anything but 0 is a vault stuck
            fig.add("runs_blocked")
            fig.note(f"final sync exit {final.code}: {final.err[:300]}")
        differ = lab.unlike_head()
        if differ:  # what the last sync said first: the notes are capped at 20
            fig.note(f"final sync exit {final.code}: {(final.out + final.err)[-600:]}")
        for k in differ:
            fig.add("changes_lost")
            fig.note(f"HEAD differs from the source at the end: {k}")
        for c in set(reported):
            ok = subprocess.run(
                ["git", "merge-base", "--is-ancestor", c, "HEAD"], cwd=lab.vault, env=lab.env,
                capture_output=True,
            ).returncode == 0
            if not ok:
                fig.add("changes_lost")
                fig.note(f"commit {c} reported by sync --json is not in HEAD's history")
        fig.add("commits_reported", len(set(reported)))
        if not lab.fsck_ok():
            fig.add("repos_corrupted")
        leftovers = list(lab.src.rglob("*.vaultsync-tmp"))
        fig.add("tmp_files_left_in_sources", len(leftovers))
    finally:
        lab.cleanup()
    return fig
