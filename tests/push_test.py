"""Pushing to a remote: a real `git daemon` on 127.0.0.1."""

from __future__ import annotations

import json

from tests.conftest import Env
from tests.servers import Daemon, git_out


def remote_head(daemon: Daemon) -> str:
    return git_out(daemon.repo, "rev-parse", "--verify", "-q", "main")


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
