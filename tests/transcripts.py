"""A synced agent transcript (JSON Lines) for the append-path tests."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from tests.conftest import Env


def line(rng: random.Random, i: int) -> str:
    return json.dumps({"type": "user", "i": i, "text": rng.randbytes(300).hex()}) + "\n"


def synced_transcript(env: Env, lines: int) -> Path:
    """`projects/big.jsonl` of `lines` lines, tracked and synced."""
    folder = env.home / "projects"
    folder.mkdir()
    path = folder / "big.jsonl"
    rng = random.Random(7)
    path.write_text("".join(line(rng, i) for i in range(lines)))
    env.vs("init")
    env.vs("track", str(folder))
    env.vs("sync")
    return path


def append(path: Path, n: int, seed: int, first: int) -> None:
    """`n` more lines, numbered from `first + seed * 10`."""
    rng = random.Random(seed)
    with open(path, "a") as f:
        f.write("".join(line(rng, first + seed * 10 + k) for k in range(n)))


def started_sync(env: Env) -> subprocess.Popen[bytes]:
    """`vaultsync sync --quiet` running, for a test that kills it."""
    return subprocess.Popen(
        [sys.executable, "-m", "vaultsync", "sync", "--quiet"],
        env=env.env,
        cwd=env.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
