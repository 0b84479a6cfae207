"""A throw-away vault with sources in every memory format, run as the real command."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORMATS = ("mcp", "mem0", "records", "notes")  # MCP JSONL, mem0 JSON, records, Markdown


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def traceback(self) -> bool:
        return "Traceback" in self.err or "Traceback" in self.out


@dataclass
class Figures:
    """Counts one part of the suite reports; `bad` names those whose goal is zero."""

    name: str
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    zero: tuple[str, ...] = ()

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def note(self, text: str) -> None:
        if len(self.notes) < 20 and text not in self.notes:
            self.notes.append(text)

    def bad(self) -> list[str]:
        return [k for k in self.zero if self.counts.get(k, 0)]


class Lab:
    def __init__(self, name: str, files: int = 40) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"vs-torture-{name}-"))
        self.home = self.root / "home"
        self.vault = self.root / "vault"
        self.src = self.home / "mem"
        self.src.mkdir(parents=True)
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GIT_", "VAULTSYNC_", "LD_PRELOAD", "FIU_"))
        }
        self.env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_AUTHOR_NAME="Torture",
            GIT_AUTHOR_EMAIL="torture@example.invalid",
            GIT_COMMITTER_NAME="Torture",
            GIT_COMMITTER_EMAIL="torture@example.invalid",
            VAULTSYNC_VAULT=str(self.vault),
            VAULTSYNC_HOST="torturehost",
            PYTHONPATH=str(ROOT),
            PYTHONDONTWRITEBYTECODE="1",
        )
        self.files = files
        self.fsck_said = ""
        self.version = 0
        self.lock = threading.Lock()
        for fmt in FORMATS:
            (self.src / fmt).mkdir()
        for i in range(files):
            self.write(FORMATS[i % len(FORMATS)], i)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "vaultsync", *args]

    def vs(self, *args: str, prefix: tuple[str, ...] = (), timeout: float = 120) -> Run:
        try:
            p = subprocess.run(
                [*prefix, *self.argv(*args)],
                env=self.env,
                cwd=self.root,
                capture_output=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            err = (exc.stderr or b"").decode(errors="replace")
            return Run(-1, "", f"HUNG after {timeout}s: {err}")
        out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        return Run(p.returncode, out, err)

    def git(self, *args: str, check: bool = True) -> str:
        p = subprocess.run(
            ["git", *args], cwd=self.vault, env=self.env, capture_output=True, check=check
        )
        return p.stdout.decode(errors="replace")

    def setup(self) -> None:
        for args in (("init",), ("track", str(self.src), "--name", "mem"), ("sync",)):
            r = self.vs(*args)
            if r.code != 0:
                raise RuntimeError(f"setup: vaultsync {' '.join(args)} exited {r.code}: {r.err}")

    def fsck_ok(self) -> bool:
        p = subprocess.run(
            ["git", "fsck", "--full", "--no-dangling"],
            cwd=self.vault,
            env=self.env,
            capture_output=True,
        )
        self.fsck_said = (p.stdout + p.stderr).decode(errors="replace").strip()[:400]
        return p.returncode == 0 and not p.stdout.strip()

    # -- memory files -----------------------------------------------------------------
    def path_of(self, fmt: str, i: int) -> Path:
        ext = {"mcp": "jsonl", "mem0": "json", "records": "json", "notes": "md"}[fmt]
        return self.src / fmt / f"m{i}.{ext}"

    def content(self, fmt: str, i: int, v: int) -> bytes:
        if fmt == "mcp":
            lines = [
                {"type": "entity", "name": f"E{i}", "entityType": "person",
                 "observations": [f"fact {j} v{v}" for j in range(3)]},
                {"type": "relation", "from": f"E{i}", "to": "E0", "relationType": "knows"},
            ]
            return "".join(json.dumps(x) + "\n" for x in lines).encode()
        if fmt == "mem0":
            mems = [{"id": f"m{i}-{j}", "memory": f"likes tea v{v}", "user_id": "u"}
                    for j in range(3)]
            return json.dumps({"results": mems}).encode()
        if fmt == "records":
            return json.dumps({"id": f"r{i}", "content": f"record v{v}"}).encode()
        return f"# Notes {i}\n\n## Preferences\n\n- item v{v}\n- tea\n".encode()

    def write(self, fmt: str, i: int) -> bytes:
        """A new version of one file, written atomically the way careful agents do."""
        with self.lock:
            self.version += 1
            data = self.content(fmt, i, self.version)
        path = self.path_of(fmt, i)
        tmp = path.with_name(f".{path.name}.w{threading.get_ident()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return data

    def sources(self) -> dict[str, bytes]:
        return {
            f"mem/{p.relative_to(self.src)}": p.read_bytes()
            for p in sorted(self.src.rglob("*"))
            if p.is_file() and not p.name.startswith(".")
        }

    def head(self) -> dict[str, bytes]:
        names = self.git("ls-tree", "-r", "-z", "--name-only", "HEAD", "--", "mem").split("\0")
        out = {}
        for n in filter(None, names):
            out[n] = subprocess.run(
                ["git", "show", f"HEAD:{n}"], cwd=self.vault, env=self.env,
                capture_output=True, check=True,
            ).stdout
        return out

    def unlike_head(self) -> list[str]:
        """The source files (and HEAD's files) whose content HEAD does not hold."""
        listed = self.git("ls-tree", "-r", "-z", "HEAD", "--", "mem").split("\0")
        head = {n: meta.split()[2] for meta, _, n in (e.partition("\t") for e in listed if e)}
        disk = {k: blob_id(v) for k, v in self.sources().items()}
        return sorted(k for k in set(head) | set(disk) if head.get(k) != disk.get(k))

    def reachable_blobs(self) -> set[str]:
        out = self.git("rev-list", "--all", "--objects")
        return {line.split()[0] for line in out.splitlines() if line}

    def cleanup(self) -> None:
        subprocess.run(["chmod", "-R", "u+rwx", str(self.root)], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


def blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def tree_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(os.fsencode(p.relative_to(folder)))
        if p.is_file() and not p.is_symlink():
            h.update(p.read_bytes())
    return h.hexdigest()


class Writer(threading.Thread):
    """Keeps changing memory files in every format until stopped; remembers, per file,
    the last version it wrote so a caller can tell when someone else overwrote it."""

    def __init__(self, lab: Lab, seed: int, pause: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.lab, self.rng, self.pause = lab, random.Random(seed), pause
        self.stop = threading.Event()
        self.last: dict[Path, bytes] = {}
        self.overwritten: list[tuple[Path, bytes]] = []  # our version replaced by another
        self.writes = 0
        self.gate = threading.Lock()  # held by each write; paused() holds it between

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No write in progress nor started until the block ends."""
        with self.gate:
            yield

    def run(self) -> None:
        while not self.stop.is_set():
            with self.gate:
                self._one()
            self.stop.wait(self.pause)

    def _one(self) -> None:
        i = self.rng.randrange(self.lab.files)
        fmt = FORMATS[i % len(FORMATS)]
        path = self.lab.path_of(fmt, i)
        before = self.last.get(path)
        try:
            now = path.read_bytes()
        except OSError:
            now = None
        if before is not None and now != before:
            self.overwritten.append((path, before))
        self.last[path] = self.lab.write(fmt, i)
        self.writes += 1

    def halt(self) -> None:
        self.stop.set()
        self.join()


def sync_recovers(fig: Figures, lab: Lab, what: str, r: Run, before: str) -> None:
    """After a faulty sync: the sources as they were (`before`, their tree_hash), fsck
    clean, exit 0 only with HEAD equal to the sources, and a clean sync that succeeds
    with nothing lost."""
    if tree_hash(lab.src) != before:
        fig.add("sources_changed")
        fig.note(f"{what}: the sources changed")
    if not lab.fsck_ok():
        fig.add("repos_corrupted")
        fig.note(f"{what}: fsck failed")
    if r.code == 0 and lab.unlike_head():
        fig.add("false_ok")
        fig.note(f"{what}: exit 0 but HEAD differs from the sources")
    clean = lab.vs("sync")
    if clean.code != 0:
        fig.add("retry_failed")
        fig.note(f"{what}: the clean retry exited {clean.code}: {clean.err[:300]}")
    elif lost := lab.unlike_head():
        fig.add("changes_lost", len(lost))
        fig.note(f"{what}: after the retry HEAD lacks {lost[:3]}")


def restore_recovers(fig: Figures, lab: Lab, what: str) -> None:
    """After a faulty restore: fsck clean, a clean restore and the next sync succeed."""
    if not lab.fsck_ok():
        fig.add("repos_corrupted")
        fig.note(f"{what}: fsck failed")
    clean = lab.vs("restore", "--at", "HEAD~1", "--yes")
    if clean.code != 0:
        fig.add("retry_failed")
        fig.note(f"{what}: the clean retry exited {clean.code}: {clean.err[:300]}")
    if lab.vs("sync").code not in (0, 1):
        fig.add("retry_failed")
        fig.note(f"{what}: the sync after it failed")
