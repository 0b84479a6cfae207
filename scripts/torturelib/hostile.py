"""Hostile input through the CLI: broken memory files and odd names (generated with
hypothesis), special files, unreadable files and folders, a source replaced by a file,
and corrupt `.last_sync` and vaultsync.toml. Each sync: no traceback, never exit 70 or
a hang, every hostile file either committed as it is or named in the output, and the
good file that changed alongside it committed."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hseed
from hypothesis import strategies as st

from scripts.torturelib import inputs
from scripts.torturelib.lab import Figures, Lab, Run

ZERO = ("tracebacks", "exit_70", "hangs", "unnamed", "good_file_lost", "deleted_wrongly",
        "wrong_commit")
NOCAP = ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")


def _bad(fig: Figures, what: str, r: Run, ok: tuple[int, ...] = (0, 1)) -> bool:
    fig.add("runs")
    if r.code == -1:
        fig.add("hangs")
        fig.note(f"{what}: hung")
    elif r.traceback or r.code == 70:
        fig.add("tracebacks" if r.traceback else "exit_70")
        fig.note(f"{what}: exit {r.code}: {r.err[-300:]}")
    elif r.code not in ok:
        fig.add("unexpected_exit")
        fig.note(f"{what}: exit {r.code}: {r.err[:200]}")
    else:
        return False
    return True


class Round:
    """One sync over a few hostile files plus one good file that changed."""

    def __init__(self, lab: Lab, fig: Figures) -> None:
        self.lab, self.fig, self.n = lab, fig, 0
        self.good = lab.src / "records" / "good.json"

    def sync(self, what: str, tags: list[str], prefix: tuple[str, ...] = ()) -> Run:
        self.n += 1
        good = json.dumps({"id": "good", "content": f"round {self.n}"}).encode()
        self.good.write_bytes(good)
        r = self.lab.vs("sync", "--json", prefix=prefix, timeout=90)
        if _bad(self.fig, what, r):
            return r
        said = r.out + r.err
        listed = self.lab.git("ls-tree", "-r", "-z", "--name-only", "HEAD").encode(
            errors="surrogateescape")
        for tag in tags:
            if tag not in said and tag.encode() not in listed:
                self.fig.add("unnamed")
                self.fig.note(f"{what}: {tag} neither committed nor named: {r.err[:200]}")
        if self.lab.git("show", "HEAD:mem/records/good.json", check=False).encode() != good:
            self.fig.add("good_file_lost")
            self.fig.note(f"{what}: the good file beside it was not committed: {r.err[:200]}")
        return r


def _files(fig: Figures, rnd: Round, examples: int, seed: int, huge: int) -> None:
    lab = rnd.lab
    folder = lab.src / "hostile"

    @hseed(seed)
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def case(data: st.DataObject) -> None:
        tags, kinds = [], []
        shutil.rmtree(folder, ignore_errors=True)
        for k in range(data.draw(st.integers(1, 4))):
            ext, body = data.draw(inputs.content(huge))
            tag = f"h{rnd.n}x{k}"
            rel = data.draw(inputs.name(tag, ext))
            path = os.path.join(os.fsencode(folder), rel)
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(body)
            except OSError as exc:  # the file system itself refuses the name
                fig.add("names_refused_by_os")
                fig.note(f"cannot create {rel[:60]!r}: {exc.strerror}")
                continue
            tags.append(tag)
            kinds.append(ext)
        fig.add("inputs_tried", len(tags))
        rnd.sync(f"hostile files {tags}", tags)

    case()
    shutil.rmtree(folder, ignore_errors=True)


def _specials(fig: Figures, rnd: Round) -> None:
    lab = rnd.lab
    sp = lab.src / "special"
    sp.mkdir()
    os.mkfifo(sp / "fifo1.json")
    cwd = os.getcwd()
    os.chdir(sp)
    try:
        s = socket.socket(socket.AF_UNIX)
        s.bind("sock1.jsonl")
    finally:
        os.chdir(cwd)
    os.symlink("loop2.json", sp / "loop1.json")
    os.symlink("loop1.json", sp / "loop2.json")
    os.symlink(".", sp / "dirloop")
    os.symlink("/nonexistent/x.json", sp / "dangling1.json")
    fig.add("inputs_tried", 5)
    rnd.sync("fifo, socket, symlink loops", ["fifo1", "sock1", "loop1"])
    s.close()
    shutil.rmtree(sp)
    rnd.sync("special files removed", [])
    # Unreadable file and folder: rejected / unavailable, and nothing deleted.
    lock = lab.src / "locked"
    lock.mkdir()
    (lock / "kept1.json").write_text('{"id": "k", "content": "c"}')
    (lab.src / "records" / "unread1.json").write_text('{"id": "u", "content": "c"}')
    rnd.sync("setup unreadable", ["kept1", "unread1"])
    (lab.src / "records" / "unread1.json").write_text('{"id": "u", "content": "d"}')
    os.chmod(lab.src / "records" / "unread1.json", 0)
    os.chmod(lock, 0)
    fig.add("inputs_tried", 2)
    rnd.sync("unreadable file and folder", ["unread1", "locked"], prefix=NOCAP)
    if "mem/locked/kept1.json" not in lab.git("ls-tree", "-r", "--name-only", "HEAD"):
        fig.add("deleted_wrongly")
        fig.note("an unreadable folder's file was committed as deleted")
    os.chmod(lock, 0o755)
    os.chmod(lab.src / "records" / "unread1.json", 0o644)
    rnd.sync("readable again", [])


def _source_replaced(fig: Figures, lab: Lab) -> None:
    before = lab.git("ls-tree", "-r", "--name-only", "HEAD")
    os.rename(lab.src, lab.src.with_name("mem.away"))
    lab.src.write_text("I am a file now")
    fig.add("inputs_tried")
    r = lab.vs("sync", "--json")
    if not _bad(fig, "source replaced by a file", r):
        after = lab.git("ls-tree", "-r", "--name-only", "HEAD")
        if after != before:
            fig.add("deleted_wrongly")
            fig.note("a source replaced by a file changed HEAD")
        if "a file took its place" not in r.out + r.err:
            fig.add("unnamed")
            fig.note(f"a source replaced by a file, not said: {r.out[:200]} {r.err[:200]}")
    lab.src.unlink()
    os.rename(lab.src.with_name("mem.away"), lab.src)


LAST_SYNC = {
    "empty": b"", "garbage": b"\x00\xffnot json", "1e999": b"1e999", "null": b"null",
    "list": b"[1, 2]", "deep": b"[" * 100000 + b"]" * 100000, "wrong types":
    b'{"files": 3, "head": [], "rejected": "x"}', "truncated": b'{"version": 1, "files": {"a',
}


def _last_sync(fig: Figures, lab: Lab) -> None:
    path = lab.vault / ".last_sync"
    shapes: list[tuple[str, object]] = [*LAST_SYNC.items(), ("folder", None), ("fifo", None)]
    for what, body in shapes:
        for p in (path,):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists() or p.is_symlink():
                p.unlink()
        if what == "folder":
            path.mkdir()
        elif what == "fifo":
            os.mkfifo(path)
        else:
            assert isinstance(body, bytes)
            path.write_bytes(body)
        fig.add("inputs_tried")
        head = lab.git("rev-parse", "HEAD")
        r = lab.vs("sync", "--json", timeout=60)
        if _bad(fig, f".last_sync {what}", r):
            continue
        if lab.git("rev-parse", "HEAD") != head:
            fig.add("wrong_commit")
            fig.note(f".last_sync {what}: a sync with nothing changed made a commit")
    for p in (path,):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


VALID = ("unknown keys", "huge")  # still valid settings: committing them is right


def _configs(fig: Figures, lab: Lab) -> None:
    path = lab.vault / "vaultsync.toml"
    good = path.read_bytes()
    shapes = {
        "empty": b"", "half": good[: len(good) // 2], "invalid": b"[[sources]\nname=",
        "sources not a list": b"sources = 3\n", "bad type": b'[vault]\nmax_delete = "x"\n',
        "binary": b"\xff\xfe\x00\x01", "bad utf8": good + b"\n# \xff\n",
        "deep": b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "unknown keys": good + b"\nzz = 1\n",
        "source without path": b'[[sources]]\nname = "x"\n',
        "huge": good + b"\n# " + b"x" * 5_000_000 + b"\n",
    }
    for what, body in shapes.items():
        path.write_bytes(body)
        fig.add("inputs_tried")
        head = lab.git("rev-parse", "HEAD")
        r = lab.vs("sync", "--json", timeout=60)
        if _bad(fig, f"vaultsync.toml {what}", r, ok=(0, 1, 2)):
            continue
        if r.code != 0 and "vaultsync.toml" not in r.err + r.out:
            fig.add("unnamed")
            fig.note(f"vaultsync.toml {what}: exit {r.code} without naming it: {r.err[:200]}")
        if r.code == 0 and lab.git("rev-parse", "HEAD") != head and what not in VALID:
            fig.add("wrong_commit")
            fig.note(f"vaultsync.toml {what}: committed with exit 0")
    for what in ("folder",):
        path.unlink()
        path.mkdir()
        fig.add("inputs_tried")
        _bad(fig, f"vaultsync.toml {what}", lab.vs("sync", timeout=60), ok=(1, 2))
        path.rmdir()
    path.write_bytes(good)
    r = lab.vs("sync", "--json")
    _bad(fig, "vaultsync.toml put back", r)


def run(examples: int, seed: int) -> Figures:
    fig = Figures("hostile", zero=ZERO)
    lab = Lab("hostile", files=24)
    try:
        lab.setup()
        rnd = Round(lab, fig)
        _files(fig, rnd, examples, seed, huge=200_000 if examples < 20 else 3_000_000)
        _specials(fig, rnd)
        _source_replaced(fig, lab)
        _last_sync(fig, lab)
        _configs(fig, lab)
        if not lab.fsck_ok():
            fig.add("repos_corrupted")
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", str(lab.root)], capture_output=True)
        lab.cleanup()
    return fig
