"""Pushing to a remote: a real `git daemon` on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Env


@dataclass
class Daemon:
    base: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"git://127.0.0.1:{self.port}/remote.git"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--enable=receive-pack",
                f"--base-path={self.base}",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                str(self.base),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("git daemon did not start")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    base = tmp_path / "served"
    base.mkdir()
    subprocess.run(["git", "init", "-q", "--bare", str(base / "remote.git")], check=True)
    d = Daemon(base, free_port())
    d.start()
    yield d
    d.stop()


def remote_head(daemon: Daemon) -> str:
    return subprocess.run(
        ["git", "-C", str(daemon.base / "remote.git"), "rev-parse", "--verify", "-q", "main"],
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_sync_pushes_and_a_failed_push_is_retried(env: Env, daemon: Daemon) -> None:
    env.memories()
    env.vs("init", "--remote", daemon.url)
    env.vs("track", str(env.home / "mem"))
    doc = json.loads(env.vs("sync", "--json").stdout)
    assert doc["pushed"] is True
    assert remote_head(daemon) == env.git("rev-parse", "HEAD").strip()

    daemon.stop()
    (env.home / "mem" / "a.json").write_text("{}")
    proc = env.vs("sync", "--json", code=4)
    assert json.loads(proc.stdout)["pushed"] is False
    assert "push failed (the commit is kept; the next sync pushes again)" in proc.stderr
    assert "mem/a.json" in env.head_files()  # committed locally all the same
    assert json.loads(env.vs("status", "--json").stdout)["unpushed"] == 1

    daemon.start()
    assert (
        json.loads(env.vs("sync", "--json").stdout)["pushed"] is True
    )  # nothing new, still pushed
    assert remote_head(daemon) == env.git("rev-parse", "HEAD").strip()
    assert json.loads(env.vs("status", "--json").stdout)["unpushed"] == 0


def test_no_push_leaves_the_remote_alone(env: Env, daemon: Daemon) -> None:
    env.memories()
    env.vs("init", "--remote", daemon.url)
    env.vs("track", str(env.home / "mem"))
    env.vs("sync", "--no-push")
    assert remote_head(daemon) == ""  # no branch was pushed


def test_a_rejected_file_and_a_failed_push_exit_4(env: Env, daemon: Daemon) -> None:
    env.memories()
    env.vs("init", "--remote", daemon.url)
    env.vs("track", str(env.home / "mem"))
    daemon.stop()
    (env.home / "mem" / "bad.json").write_text("{")
    env.vs("sync", code=4)
