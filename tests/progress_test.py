"""A long sync shows a progress bar on a terminal, and nothing extra anywhere else."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

from tests.conftest import Env


def many(env: Env, n: int = 600) -> None:
    folder = env.home / "bulk"
    folder.mkdir()
    for i in range(n):
        (folder / f"{i}.json").write_text(json.dumps({"id": str(i), "content": "c"}))
    env.vs("init")
    env.vs("track", str(folder))


def on_a_terminal(env: Env, *args: str) -> str:
    """Run vaultsync with stderr on a pseudo-terminal; returns what it showed there."""
    main, tty = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaultsync", *args],
        env={**env.env, "COLUMNS": "100", "TERM": "xterm"},
        cwd=env.root,
        stdout=subprocess.PIPE,
        stderr=tty,
        stdin=subprocess.DEVNULL,
    )
    os.close(tty)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break  # the other end closed
        if not chunk:
            break
        shown += chunk
    proc.communicate(timeout=120)
    os.close(main)
    assert proc.returncode == 0, shown
    return shown.decode("utf-8", "replace")


def test_a_long_sync_shows_progress_on_a_terminal(env: Env) -> None:
    many(env)
    assert "reading" in on_a_terminal(env, "sync")


def test_no_progress_in_cron_quiet_or_json(env: Env) -> None:
    many(env)
    quiet = on_a_terminal(env, "sync", "--quiet")
    assert "reading" not in quiet and quiet.strip() == ""
    (env.home / "bulk" / "0.json").unlink()
    for i in range(600, 1200):
        (env.home / "bulk" / f"{i}.json").write_text(json.dumps({"id": str(i), "content": "c"}))
    out = env.vs("sync")  # no terminal, as in cron
    assert out.stderr == ""
