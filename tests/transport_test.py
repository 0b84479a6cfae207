"""Reaching the remote without a terminal: smart HTTP with Basic auth, ssh in BatchMode,
a server that never answers, and URLs that hold a password. Real servers on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Env
from tests.servers import (
    HttpServer,
    SilentServer,
    Sshd,
    bare_repo,
    git_out,
    sshd_path,
    start_sshd,
)


@pytest.fixture
def http(tmp_path: Path) -> Iterator[HttpServer]:
    root = tmp_path / "http"
    root.mkdir()
    bare_repo(root / "remote.git")
    server = HttpServer(root, "vault-user", "s3cret-pw")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    if sshd_path() is None:
        pytest.skip("sshd is not installed (scripts/test installs openssh-server as root)")
    server = start_sshd(tmp_path)
    yield server
    server.stop()


def tracked_with_remote(env: Env, url: str) -> None:
    env.memories()
    env.vs("init", "--remote", url)
    env.vs("track", str(env.home / "mem"))


def test_http_401_fails_at_once_without_a_prompt(env: Env, http: HttpServer) -> None:
    tracked_with_remote(env, http.url)
    proc = env.vs("sync", "--json", code=4, input="", timeout=60)
    doc = json.loads(proc.stdout)
    assert doc["push"]["status"] == "auth"
    assert doc["commit"] is not None  # committed locally all the same
    assert "the remote refused our credentials" in proc.stderr
    assert "Username" not in proc.stdout + proc.stderr.split("push failed")[0]  # no prompt
    assert all(status == 401 for _, status in http.requests)


def test_http_with_a_credential_helper_pushes(env: Env, http: HttpServer) -> None:
    helper = f"!f() {{ echo username={http.user}; echo password={http.password}; }}; f"
    env.git("config", "--global", "credential.helper", helper, cwd=env.home)
    tracked_with_remote(env, http.url)
    doc = json.loads(env.vs("sync", "--json", timeout=60).stdout)
    assert doc["pushed"] is True
    assert (
        git_out(http.root / "remote.git", "rev-parse", "main")
        == env.git("rev-parse", "HEAD").strip()
    )
    assert http.password not in (env.vault / ".git" / "config").read_text()  # nothing stored


def test_a_url_with_a_password_is_refused_everywhere(env: Env, http: HttpServer) -> None:
    with_pw = http.url.replace("http://", f"http://{http.user}:{http.password}@")
    proc = env.vs("init", "--remote", with_pw, code=2)
    assert "credential helper" in proc.stderr
    assert "credential helper" in env.vs("init", "--from", with_pw, code=2).stderr
    tracked_with_remote(env, http.url)
    env.git("remote", "set-url", "origin", with_pw)  # set by hand, behind vaultsync's back
    proc = env.vs("sync", code=4)
    assert "holds a password" in proc.stderr and "credential helper" in proc.stderr
    assert http.requests == []  # the password was never sent


@pytest.mark.parametrize("scheme", ["git", "http"])
def test_a_server_that_never_answers_fails_within_push_timeout(env: Env, scheme: str) -> None:
    silent = SilentServer()
    try:
        tracked_with_remote(env, silent.url(scheme))
        toml = env.vault / "vaultsync.toml"
        toml.write_text(toml.read_text().replace('push_timeout = "60s"', 'push_timeout = "2s"'))
        assert 'push_timeout = "2s"' in toml.read_text()
        # The subprocess timeout only catches a hang; the result must say "timeout".
        proc = env.vs("sync", "--json", code=4, timeout=60)
        doc = json.loads(proc.stdout)
        assert doc["push"]["status"] == "timeout"
        assert "within 2 s" in doc["push"]["message"]
        assert "did not answer in time" in proc.stderr
        assert silent.all_hung_up()  # git and its helpers were stopped, none left behind
    finally:
        silent.stop()


def ssh_config(env: Env, sshd: Sshd, known: Path) -> Path:
    """The user's core.sshCommand, through a wrapper that records how ssh was called."""
    calls = env.root / "ssh-calls"
    wrapper = env.root / "ssh-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec ssh "$@"\n')
    wrapper.chmod(0o755)
    command = sshd.ssh_command(known).replace("ssh ", f"{wrapper} ", 1)
    env.git("config", "--global", "core.sshCommand", command, cwd=env.home)
    return calls


def test_ssh_push_and_fetch_in_batch_mode(env: Env, sshd: Sshd, tmp_path: Path) -> None:
    repo = bare_repo(tmp_path / "ssh-remote.git")
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_line() + "\n")
    calls = ssh_config(env, sshd, known)
    tracked_with_remote(env, sshd.url(repo))
    assert json.loads(env.vs("sync", "--json", input="", timeout=60).stdout)["pushed"] is True
    assert git_out(repo, "rev-parse", "main") == env.git("rev-parse", "HEAD").strip()
    other = tmp_path / "clone"
    e = dict(env.env, VAULTSYNC_VAULT=str(other))
    clone = Env(env.root, env.home, other, e)
    clone.vs("init", "--from", sshd.url(repo), input="", timeout=60)
    assert clone.head_files() == env.head_files()
    clone.vs("sync", input="", timeout=60)  # nothing to push: fetches over ssh
    used = calls.read_text().splitlines()
    assert len(used) >= 3  # the push, the clone and the fetch all went through ssh
    assert all("-o BatchMode=yes" in line and str(sshd.user_key) in line for line in used)


def test_ssh_unknown_host_key_fails_clearly_and_never_prompts(
    env: Env, sshd: Sshd, tmp_path: Path
) -> None:
    repo = bare_repo(tmp_path / "ssh-remote.git")
    known = tmp_path / "known_hosts"
    known.write_text("")
    tracked_with_remote(env, sshd.url(repo))
    calls = ssh_config(env, sshd, known)
    proc = env.vs("sync", "--json", code=4, input="", timeout=60)
    doc = json.loads(proc.stdout)
    assert doc["push"]["status"] == "auth"
    assert "Host key verification failed" in doc["push"]["message"]
    assert known.read_text() == ""  # not accepted behind the user's back
    assert git_out(repo, "rev-parse", "--verify", "-q", "main") == ""
    assert "BatchMode=yes" in calls.read_text()  # ssh was told never to ask
