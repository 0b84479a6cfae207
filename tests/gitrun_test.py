"""The one git runner: an allow-listed environment, errors that say what failed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Env
from vaultsync import gitrun
from vaultsync.errors import DiskFullError, GitError, GitTimeout


def test_repository_variables_never_reach_git(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        monkeypatch.setenv(key, "/elsewhere")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ada")
    env = gitrun.git_env()
    assert not {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"} & set(env)
    assert "GIT_CONFIG_COUNT" not in env
    assert env["GIT_AUTHOR_NAME"] == "Ada" and env["LC_ALL"] == "C"


def test_a_sync_from_another_repositorys_hook_commits_into_the_vault(env: Env) -> None:
    """git exports GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE to hooks: a sync started
    there used to write its commit into that other repository and say "committed"."""
    other = env.root / "project"
    other.mkdir()
    env.git("init", "-q", "-b", "trunk", cwd=other)
    env.memories()
    env.vs("init")
    env.vs("track", str(env.home / "mem"))
    env.env.update(
        GIT_DIR=str(other / ".git"),
        GIT_WORK_TREE=str(other),
        GIT_INDEX_FILE=str(other / ".git" / "index"),
    )
    doc = json.loads(env.vs("sync", "--json").stdout)
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        del env.env[key]
    assert doc["commit"] == env.git("rev-parse", "HEAD").strip()
    assert "mem/mcp/memory.jsonl" in env.head_files()
    # The other repository is as it was: no commit, no index, no `main` branch.
    refs = env.git("for-each-ref", cwd=other)
    assert refs == "" and not (other / ".git" / "index").exists()


def test_a_failure_names_the_command_and_what_git_said(tmp_path: Path) -> None:
    with pytest.raises(GitError) as info:
        gitrun.run(["rev-parse", "--verify", "nosuchref"], tmp_path)
    text = str(info.value)
    assert "git rev-parse --verify nosuchref" in text and "exited 128" in text
    assert "not a git repository" in text


def test_a_timeout_is_its_own_error(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with pytest.raises(GitTimeout):
        gitrun.run(["-c", "alias.nap=!sleep 5", "nap"], tmp_path, timeout=0.5)


def test_no_space_is_said_in_words(tmp_path: Path) -> None:
    said = "fatal: write error: No space left on device"
    err = gitrun.failure(["fast-import"], 128, said, tmp_path)
    assert isinstance(err, DiskFullError)
    assert "no space left on the vault's disk" in str(err) and "free some space" in str(err)
