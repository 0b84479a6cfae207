"""A real full disk (the vault on a small tmpfs) and a read-only vault (a read-only bind
mount): root only; skipped with the reason otherwise."""

from __future__ import annotations

import base64
import json
import os
import subprocess

from scripts.torturelib.lab import Figures, Lab


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _check(fig: Figures, what: str, code: int, err: str, words: str) -> None:
    fig.add("disk_runs")
    if code == 70 or "Traceback" in err:
        fig.add("exit_70" if code == 70 else "tracebacks")
        fig.note(f"{what}: exit {code}: {err[-300:]}")
    elif code == 0:
        fig.add("false_ok")
        fig.note(f"{what}: exit 0")
    elif words not in err:
        fig.add("unclear_messages")
        fig.note(f"{what}: exit {code} without saying {words!r}: {err[:200]}")


def full_disk(fig: Figures, quick: bool) -> None:
    if os.geteuid() != 0:
        fig.note("full disk skipped: mounting a tmpfs needs root")
        return
    lab = Lab("fulldisk", files=8)
    lab.vault.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(lab.vault)):
        fig.note("full disk skipped: cannot mount a tmpfs here")
        lab.cleanup()
        return
    try:
        lab.setup()
        rounds = 1 if quick else 6
        for n in range(rounds):  # each round a bigger file than the disk can take
            noise = base64.b64encode(os.urandom((1 + n % 3) << 20)).decode()
            (lab.src / "records" / f"big{n}.json").write_text(json.dumps({"id": "b", "x": noise}))
            lab.write("records", 2)
            r = lab.vs("sync")
            _check(fig, f"full disk round {n}", r.code, r.err, "no space left")
            if not lab.fsck_ok():
                fig.add("repos_corrupted")
                fig.note(f"full disk round {n}: fsck failed")
            (lab.src / "records" / f"big{n}.json").unlink()
            r = lab.vs("sync")
            if r.code != 0:
                fig.add("retry_failed")
                fig.note(f"full disk round {n}: with room again, sync exited {r.code}: {r.err}")
            elif lab.head() != lab.sources():
                fig.add("changes_lost")
    finally:
        subprocess.run(["umount", "-l", str(lab.vault)], capture_output=True)
        lab.cleanup()


def read_only(fig: Figures) -> None:
    if os.geteuid() != 0:
        fig.note("read-only vault skipped: a bind mount needs root")
        return
    lab = Lab("readonly", files=8)
    try:
        lab.setup()
        v = str(lab.vault)
        if not (_mount("--bind", v, v) and _mount("-o", "remount,ro,bind", v)):
            fig.note("read-only vault skipped: cannot remount read-only here")
            return
        try:
            lab.write("mcp", 0)
            for args in (("sync",), ("restore", "--at", "HEAD", "--yes")):
                r = lab.vs(*args)
                if args[0] == "restore" and r.code == 0:
                    fig.add("disk_runs")  # nothing to snapshot is fine: it wrote only sources
                    continue
                _check(fig, f"read-only vault: {args[0]}", r.code, r.err, "read-only")
        finally:
            subprocess.run(["umount", "-l", v], capture_output=True)
        r = lab.vs("sync")
        if r.code != 0:
            fig.add("retry_failed")
            fig.note(f"read-only vault: writable again, sync exited {r.code}: {r.err[:300]}")
    finally:
        lab.cleanup()
