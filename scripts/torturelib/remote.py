"""Remote outage and recovery, and a remote killed mid-push, against real servers on
127.0.0.1 (tests/servers.py: `git daemon`, smart HTTP through `git http-backend`).

Outage: the server stops; every sync must still commit locally and exit 4 ("committed
locally, the push failed"), never 70 or a traceback, HEAD equal to the sources. The
server comes back: the next sync exits 0 and the remote holds every local commit, and
was never force-updated (each update's old value an ancestor of its new one).
Killed mid-push: the server's receive-pack (daemon) or http-backend is SIGKILLed once
the push's pack is arriving; the sync exits 4, the local vault and the remote are
fsck-clean, the remote's branch is where it was or at the pushed commit (never
anything else), and after a restart one sync converges."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from scripts.torturelib.lab import FORMATS, Figures, Lab, Run
from tests.servers import Daemon, HttpServer, bare_repo, free_port, git_out, is_ancestor

BRANCH = "refs/heads/main"  # the vault's branch (init names it main)
ZERO = ("exit_70", "tracebacks", "wrong_exits", "false_ok", "not_converged",
        "commits_missing_on_remote", "forced_updates", "repos_corrupted", "remote_corrupted",
        "remote_branch_wrong")


def _children(pid: int) -> list[int]:
    """Every descendant of `pid` (from /proc), deepest last."""
    out: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == parent:
                out.append(int(entry))
                todo.append(int(entry))
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _judge(fig: Figures, what: str, r: Run, want: tuple[int, ...]) -> None:
    fig.add("runs")
    if r.code == 70:
        fig.add("exit_70")
    if r.traceback:
        fig.add("tracebacks")
    if r.code not in want:
        fig.add("wrong_exits")
        fig.note(f"{what}: exit {r.code} (wanted {want}): {r.err[-240:]}")


def _forced(remote: Path) -> int:
    """Updates of the remote's branch whose old value is not an ancestor of the new."""
    log = git_out(remote, "reflog", "show", "--format=%H", BRANCH)
    ids = [x for x in log.splitlines() if x]
    pairs = zip(ids, ids[1:], strict=False)  # newest first
    return sum(1 for new, old in pairs if not is_ancestor(remote, old, new))


def _converged(fig: Figures, what: str, lab: Lab, remote: Path) -> None:
    r = lab.vs("sync", "--json", timeout=120)
    _judge(fig, f"{what}: sync after recovery", r, (0,))
    local = lab.git("rev-parse", "HEAD").strip()
    if git_out(remote, "rev-parse", BRANCH) != local:
        fig.add("not_converged")
        fig.note(f"{what}: after recovery the remote is not at the local HEAD")
    missing = [c for c in lab.git("rev-list", "HEAD").split() if not is_ancestor(remote, c, local)]
    if missing:
        fig.add("commits_missing_on_remote", len(missing))
    if lab.head() != lab.sources():
        fig.add("not_converged")
        fig.note(f"{what}: HEAD differs from the sources")


def _lab_with(name: str, url: str) -> Lab:
    lab = Lab(name, files=12)
    for args in (("init", "--remote", url), ("track", str(lab.src), "--name", "mem")):
        r = lab.vs(*args)
        if r.code != 0:
            raise RuntimeError(f"setup: vaultsync {' '.join(args)} exited {r.code}: {r.err}")
    config = lab.vault / "vaultsync.toml"
    config.write_text(config.read_text().replace('push_timeout = "60s"', 'push_timeout = "10s"'))
    return lab


def outage(fig: Figures, rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="vs-torture-served-"))
    base = tmp / "served"
    base.mkdir()
    remote = bare_repo(base / "remote.git")
    daemon = Daemon(base, free_port())
    daemon.start()
    lab = _lab_with("outage", daemon.url)
    try:
        r = lab.vs("sync", "--json")
        _judge(fig, "first sync", r, (0,))
        daemon.stop()
        for n in range(rounds):
            for i in range(n % 3, lab.files, 3):
                lab.write(FORMATS[i % 4], i)
            before = lab.git("rev-parse", "HEAD").strip()
            r = lab.vs("sync", "--json", timeout=120)
            fig.add("outage_syncs")
            _judge(fig, f"outage round {n}", r, (4,))
            if lab.git("rev-parse", "HEAD").strip() == before or lab.head() != lab.sources():
                fig.add("false_ok" if r.code == 0 else "not_converged")
                fig.note(f"outage round {n}: not committed locally (exit {r.code})")
        status = json.loads(lab.vs("status", "--json").out or "{}")
        fig.add("unpushed_during_outage", int(status.get("unpushed") or 0))
        daemon.start()  # the same port: the server is back
        _converged(fig, "outage", lab, remote)
        fig.add("forced_updates", _forced(remote))
        if not lab.fsck_ok():
            fig.add("repos_corrupted")
    finally:
        daemon.stop()
        lab.cleanup()
        subprocess.run(["rm", "-rf", str(tmp)])


def _big_change(lab: Lab, n: int) -> None:
    noise = base64.b64encode(os.urandom(6 << 20)).decode()  # a pack that takes a while
    (lab.src / "records" / f"big{n}.json").write_text(json.dumps({"id": f"b{n}", "x": noise}))


def _arriving(remote: Path) -> bool:
    """The push's pack is arriving: receive-pack's quarantine or a temporary pack."""
    objects = remote / "objects"
    return any("incoming" in p.name for p in objects.iterdir()) or any(
        p.name.startswith("tmp_") for p in (objects / "pack").iterdir())


def _kill_mid_push(fig: Figures, what: str, lab: Lab, remote: Path,
                   victims: Callable[[], list[int]]) -> None:
    before = git_out(remote, "rev-parse", BRANCH)
    proc = subprocess.Popen(lab.argv("sync", "--json"), env=lab.env, cwd=lab.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    found: list[int] = []
    while proc.poll() is None and time.monotonic() < deadline:
        if found := [p for p in victims() if p != os.getpid()]:
            # The server side of this push is at work: kill it once the pack arrives
            # (or after a moment, if it never seems to).
            until = time.monotonic() + 2
            while not _arriving(remote) and time.monotonic() < until and proc.poll() is None:
                time.sleep(0.001)
            found = [p for p in victims() if p != os.getpid()] or found
            break
        time.sleep(0.002)
    killed = False
    if found and proc.poll() is None:
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed = True
            except ProcessLookupError:
                pass
    if killed:
        fig.add("servers_killed_mid_push")
        fig.add("pack_was_arriving" if _arriving(remote) else "killed_before_the_pack")
    else:
        fig.add("pushes_too_quick_to_kill")
        fig.note(f"{what}: the push ended before the server could be killed")
    out, err = proc.communicate(timeout=180)
    r = Run(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
    _judge(fig, what, r, (0, 4))
    local = lab.git("rev-parse", "HEAD").strip()
    if r.code == 0:  # the kill came after the server had taken the push: it must be there
        fig.add("pushed_before_the_kill_took")
        fig.note(f"{what}: exit 0, the push had landed: {r.err[-160:]}")
        if git_out(remote, "rev-parse", BRANCH) != local:
            fig.add("false_ok")
            fig.note(f"{what}: exit 0 but the remote lacks the commit")
    elif r.code == 4:
        fig.add("exit_4_push_failed")
    if not lab.fsck_ok():
        fig.add("repos_corrupted")
        fig.note(f"{what}: the local vault fails fsck")
    p = subprocess.run(["git", "-C", str(remote), "fsck", "--full", "--no-dangling"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        fig.add("remote_corrupted")
        fig.note(f"{what}: the remote fails fsck: {p.stdout[:200]} {p.stderr[:200]}")
    after = git_out(remote, "rev-parse", BRANCH)
    if after not in (before, lab.git("rev-parse", "HEAD").strip()):
        fig.add("remote_branch_wrong")
        fig.note(f"{what}: the remote's branch moved to {after[:10]}, neither old nor pushed")


def killed_mid_push(fig: Figures, rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="vs-torture-served-"))
    base = tmp / "served"
    base.mkdir()
    remote = bare_repo(base / "remote.git")
    daemon = Daemon(base, free_port())
    daemon.start()
    lab = _lab_with("midpush", daemon.url)
    try:
        _judge(fig, "first sync", lab.vs("sync", "--json"), (0,))
        for n in range(rounds):
            _big_change(lab, n)
            assert daemon.proc is not None

            def daemon_children(pid: int = daemon.proc.pid) -> list[int]:
                # the push's receive-pack, not the daemon (whose options name it too)
                return [c for c in _children(pid)
                        if "receive-pack" in (cmd := _cmdline(c)) and "daemon" not in cmd]

            _kill_mid_push(fig, f"git daemon's receive-pack killed, round {n}", lab, remote,
                           daemon_children)
            _converged(fig, f"daemon round {n}", lab, remote)
        http = HttpServer(base, "vault", "s3cret")
        http.start()
        lab.git("remote", "set-url", "origin", http.url)
        subprocess.run(["git", "-C", str(lab.vault), "config", "credential.helper",
                        "!f() { echo username=vault; echo password=s3cret; }; f"], check=True)
        # One request with a Content-Length: the test server does not take chunked bodies.
        subprocess.run(["git", "-C", str(lab.vault), "config", "http.postBuffer", "200m"],
                       check=True)
        try:
            for n in range(rounds):
                _big_change(lab, 100 + n)

                def backends() -> list[int]:
                    # the POST's receive-pack (and its http-backend), not the ref listing
                    return [c for c in _children(os.getpid())
                            if ("receive-pack" in (cmd := _cmdline(c)) or "http-backend" in cmd)
                            and "advertise-refs" not in cmd]

                _kill_mid_push(fig, f"http-backend killed, round {n}", lab, remote, backends)
                _converged(fig, f"http round {n}", lab, remote)
        finally:
            http.stop()
        fig.add("forced_updates", _forced(remote))
    finally:
        daemon.stop()
        lab.cleanup()
        subprocess.run(["rm", "-rf", str(tmp)])


def run(quick: bool, seed: int) -> Figures:
    del seed  # the moments are the servers' own: the push's pack arriving
    fig = Figures("remote", zero=ZERO)
    outage(fig, rounds=2 if quick else 6)
    killed_mid_push(fig, rounds=1 if quick else 3)
    return fig
