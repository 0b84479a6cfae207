"""The transcript data set of scripts/bench: an agent's JSON Lines transcript (Claude
Code's `~/.claude/projects/*/*.jsonl`) that grows by appends, synced after each one.

Compared with the shell recipe per sync, and the vault's `.git` size with the
transcript's own size after all the appends (versions of one file must be stored as
deltas, not as full copies)."""

from __future__ import annotations

import json
import os
import random
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench import Bench, Group

APPEND_BYTES = 4096


def turn(rng: random.Random, i: int, words: tuple[str, ...], size: int) -> str:
    """One transcript line: a user or assistant message of about `size` bytes of text."""
    text = []
    while sum(len(w) + 1 for w in text) < size:
        text.append(rng.choice(words))
    role = "user" if i % 2 == 0 else "assistant"
    doc = {
        "parentUuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "isSidechain": False,
        "userType": "external",
        "cwd": "/home/dev/project",
        "sessionId": "5f0c8a52-8c1e-4c57-9d6e-2a1f0e3b7c11",
        "version": "1.0.51",
        "type": role,
        "message": {"role": role, "content": [{"type": "text", "text": " ".join(text)}]},
        "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "timestamp": f"2026-11-20T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
    }
    return json.dumps(doc, separators=(",", ":"))


def write_transcript(path: Path, size: int, words: tuple[str, ...], old_ns: int) -> None:
    rng = random.Random(5)
    with open(path, "w") as f:
        written, i = 0, 0
        while written < size:
            line = turn(rng, i, words, rng.randrange(200, 6000)) + "\n"
            f.write(line)
            written += len(line)
            i += 1
    os.utime(path, ns=(old_ns, old_ns))


def append_turns(path: Path, rep: int, words: tuple[str, ...]) -> None:
    """About APPEND_BYTES more: a user turn and the assistant's answer."""
    rng = random.Random(10_000 + rep)
    lines = [turn(rng, 1_000_000 + 2 * rep + k, words, APPEND_BYTES // 2 - 400) for k in (0, 1)]
    with open(path, "a") as f:
        f.write("".join(line + "\n" for line in lines))


def dir_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def transcript_group(
    b: Bench, title: str, data: Path, appends: int, words: tuple[str, ...]
) -> Group:
    from bench import MB, Group, Row, Sample, Target, copy_tree, must, say

    key = "e"
    ours_src = b.work / key / "src" / "projects"
    shell_src = b.work / key / "shell-src"
    copy_tree(data.parent, ours_src)
    copy_tree(data.parent, shell_src)
    vault = b.new_vault(b.work / key / "vault", [(ours_src, "projects")])
    peer = b.new_git(b.work / key / "shell-vault")
    transcript = ours_src / data.name
    size_mb = transcript.stat().st_size / MB
    say(f"{title}: first import ({size_mb:.0f} MB)")
    must(b.sync(vault), "vaultsync first import")
    must(b.shell(shell_src, peer), "shell first import")
    ours, shell = Sample(), Sample()
    say(f"{title}: {appends} appends of ~{APPEND_BYTES // 1024} KB, one sync after each")
    for rep in range(appends):
        append_turns(transcript, rep, words)
        append_turns(shell_src / data.name, rep, words)
        ours.add(b.sync(vault))
        shell.add(b.shell(shell_src, peer))
    if ours.error is None and "~1 " not in b.subject(vault):
        ours.error = f"last commit is {b.subject(vault)!r}"
    final = transcript.stat().st_size
    git_mb = dir_bytes(vault / ".git") / MB
    peer_mb = dir_bytes(peer / ".git") / MB
    store = Row(
        f"vault `.git` after {appends} syncs",
        Sample([git_mb]),
        "the transcript's own size",
        Sample([final / MB]),
        Target(1.5, "ratio", f"{key}-store"),
        unit="MB",
    )
    group = Group(
        title,
        [
            Row(
                f"sync after a ~4 KB append ({appends} runs)",
                ours,
                "shell recipe: `cp -ru SRC/. VAULT/ && git add -A && git commit`",
                shell,
                Target(0.5, "ratio", f"{key}-append"),
            ),
            store,
        ],
        [
            f"- the shell recipe's `.git` ends at {peer_mb:.1f} MB "
            f"({peer_mb / (final / MB):.1f}× the transcript): git stores each version whole "
            "until a gc.",
            f"- longest single sync: vaultsync {max(ours.walls, default=0):.3f} s, "
            f"the shell recipe {max(shell.walls, default=0):.3f} s; vaultsync's peak memory "
            f"{ours.peak_mb:.0f} MB.",
        ],
    )
    return group
