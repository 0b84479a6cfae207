"""`vaultsync hooks`: real commits in real repositories run the installed hooks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Env

CHAINED_HOOK = '#!/bin/sh\necho "$0 ran" >> "$(git rev-parse --git-dir)/chained.log"\n'


@pytest.fixture
def repo(env: Env) -> Path:
    """A source repository (an Obsidian vault, say): memories/ is tracked, notes.md not."""
    repo = env.home / "notes-repo"
    (repo / "memories").mkdir(parents=True)
    (repo / "memories" / "a.json").write_text(json.dumps({"id": "a", "content": "first"}))
    (repo / "notes.md").write_text("notes\n")
    env.git("init", "-q", "-b", "main", cwd=repo)
    env.git("add", "-A", cwd=repo)
    env.git("commit", "-q", "-m", "start", cwd=repo)
    env.vs("init")
    env.vs("track", str(repo / "memories"), "--name", "notes")
    env.vs("sync")
    return repo


def hooks_dir(env: Env, repo: Path) -> Path:
    return (repo / env.git("rev-parse", "--git-path", "hooks", cwd=repo).strip()).resolve()


def wait_for_commits(env: Env, count: int, timeout: float = 60) -> None:
    """Bounded wait for the background sync a hook started."""
    deadline = time.monotonic() + timeout
    while env.commits() < count:
        assert time.monotonic() < deadline, f"no vault commit within {timeout} s"
        time.sleep(0.1)


def commit(env: Env, repo: Path, path: str, text: str) -> None:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    env.git("add", "-A", cwd=repo)
    env.git("commit", "-q", "-m", f"edit {path}", cwd=repo)


def trace_hook(env: Env, repo: Path, name: str) -> str:
    """Run an installed hook under `sh -x` as git would (from the top, after a commit made
    without hooks): the trace shows whether it went on to start a sync."""
    proc = subprocess.run(
        ["sh", "-x", str(hooks_dir(env, repo) / name)],
        cwd=repo,
        env=env.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stderr


def test_commit_touching_a_tracked_file_syncs_in_the_background(env: Env, repo: Path) -> None:
    out = env.vs("hooks", "install", "--repo", str(repo)).stdout
    assert "installed:" in out and "post-commit" in out and "post-merge" in out
    before = env.commits()
    commit(env, repo, "memories/b.json", json.dumps({"id": "b", "content": "second"}))
    wait_for_commits(env, before + 1)
    assert "notes/b.json" in env.head_files()


def test_commit_touching_no_tracked_file_starts_nothing(env: Env, repo: Path) -> None:
    env.vs("hooks", "install", "--repo", str(repo))
    (repo / "notes.md").write_text("more notes\n")
    env.git("-c", "core.hooksPath=/dev/null", "commit", "-qam", "notes", cwd=repo)
    trace = trace_hook(env, repo, "post-commit")
    assert "+ exit 0" in trace
    assert "rev-parse --show-toplevel" not in trace and "vaultsync" not in trace.split("exit 0")[1]
    # ...and one that did touch a tracked file goes on to start the sync.
    (repo / "memories" / "a.json").write_text(json.dumps({"id": "a", "content": "edited"}))
    env.git("-c", "core.hooksPath=/dev/null", "commit", "-qam", "memory", cwd=repo)
    assert "rev-parse --show-toplevel" in trace_hook(env, repo, "post-commit")


def test_existing_hook_is_chained_and_restored(env: Env, repo: Path) -> None:
    hooks = hooks_dir(env, repo)
    hooks.mkdir()
    (hooks / "post-commit").write_text(CHAINED_HOOK)
    (hooks / "post-commit").chmod(0o755)
    env.vs("hooks", "install", "--repo", str(repo))
    installed = {p.name: p.read_bytes() for p in hooks.iterdir()}
    assert "already installed" in env.vs("hooks", "install", "--repo", str(repo)).stdout
    assert {p.name: p.read_bytes() for p in hooks.iterdir()} == installed
    before = env.commits()
    commit(env, repo, "memories/c.json", json.dumps({"id": "c", "content": "third"}))
    assert "post-commit.vaultsync-chained ran" in (repo / ".git" / "chained.log").read_text()
    wait_for_commits(env, before + 1)
    out = env.vs("hooks", "uninstall", "--repo", str(repo)).stdout
    assert "restored the previous hook" in out
    assert (hooks / "post-commit").read_text() == CHAINED_HOOK
    assert not (hooks / "post-merge").exists()
    assert not (hooks / "post-commit.vaultsync-chained").exists()


def test_core_hooks_path_and_linked_worktrees(env: Env, repo: Path) -> None:
    env.git("config", "core.hooksPath", ".githooks", cwd=repo)
    env.vs("hooks", "install", "--repo", str(repo))
    assert (repo / ".githooks" / "post-commit").is_file()
    assert not (repo / ".git" / "hooks" / "post-commit").exists()
    env.git("config", "--unset", "core.hooksPath", cwd=repo)
    linked = env.home / "notes-linked"
    env.git("worktree", "add", "-q", str(linked), "-b", "side", cwd=repo)
    env.vs("hooks", "install", "--repo", str(linked))
    assert (repo / ".git" / "hooks" / "post-commit").is_file()  # shared by every worktree


def test_pull_bringing_a_tracked_file_syncs(env: Env, repo: Path) -> None:
    env.vs("hooks", "install", "--repo", str(repo))
    other = env.root / "other"
    env.git("clone", "-q", str(repo), str(other), cwd=env.root)
    env.git("-c", "core.hooksPath=/dev/null", "checkout", "-q", "-b", "tmp", cwd=repo)
    commit(env, other, "memories/d.json", json.dumps({"id": "d", "content": "from afar"}))
    env.git("checkout", "-q", "main", cwd=repo)
    before = env.commits()
    env.git("pull", "-q", "--no-rebase", str(other), "main", cwd=repo)
    wait_for_commits(env, before + 1)
    assert "notes/d.json" in env.head_files()


def test_a_source_tracked_after_install_is_picked_up(env: Env, repo: Path) -> None:
    env.vs("hooks", "install", "--repo", str(repo))
    (repo / "agent").mkdir()
    (repo / "agent" / "m.json").write_text(json.dumps({"id": "m", "content": "x"}))
    time.sleep(0.01)  # vaultsync.toml must be newer than the hook by mtime
    env.vs("track", str(repo / "agent"), "--name", "agent")
    before = env.commits()
    commit(env, repo, "agent/n.json", json.dumps({"id": "n", "content": "y"}))
    wait_for_commits(env, before + 1)
    assert {"agent/m.json", "agent/n.json"} <= set(env.head_files())
    assert "agent/*" in (hooks_dir(env, repo) / "post-commit").read_text()


def test_a_repository_without_tracked_files_is_refused(env: Env, repo: Path) -> None:
    elsewhere = env.home / "elsewhere"
    env.git("init", "-q", str(elsewhere), cwd=env.home)
    err = env.vs("hooks", "install", "--repo", str(elsewhere), code=2).stderr
    assert "no source" in err and "vaultsync track" in err
    assert "not a git repository" in env.vs("hooks", "install", "--repo", "/", code=2).stderr


def test_vault_pre_commit_refuses_invalid_staged_memory(env: Env, repo: Path) -> None:
    env.vs("hooks", "install")
    bad = env.vault / "notes" / "bad.json"
    bad.write_text('{"id": ')
    env.git("add", "notes/bad.json")
    proc = subprocess.run(
        ["git", "commit", "-qm", "by hand"],
        cwd=env.vault,
        env=env.env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "bad.json" in proc.stdout + proc.stderr and "commit refused" in proc.stderr
    bad.write_text('{"id": "bad", "content": "fixed in the work tree only"}')
    again = subprocess.run(["git", "commit", "-qm", "by hand"], cwd=env.vault, env=env.env)
    assert again.returncode == 1, "the staged version is what counts"
    env.git("add", "notes/bad.json")
    env.git("commit", "-qm", "by hand, valid")
    assert "notes/bad.json" in env.head_files()
    env.vs("hooks", "uninstall")
    assert not (env.vault / ".git" / "hooks" / "pre-commit").exists()


ROOT = Path(__file__).resolve().parent.parent
BESIDE = Path(sys.executable).parent / "pre-commit"  # the dev extras install it in the venv
PRE_COMMIT = str(BESIDE) if BESIDE.exists() else shutil.which("pre-commit")


@pytest.mark.skipif(PRE_COMMIT is None, reason="the pre-commit tool is not installed")
@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="pre-commit try-repo needs a git checkout")
def test_pre_commit_framework_runs_vaultsync_validate(env: Env) -> None:
    """`.pre-commit-hooks.yaml` as a pre-commit user gets it: the framework installs
    vaultsync from this checkout into its own environment and runs the hook."""
    project = env.home / "project"
    project.mkdir()
    (project / "good.json").write_text(json.dumps({"id": "a", "content": "fine"}))
    (project / "bad.jsonl").write_text('{"id": "a"}\n{"id": \n')
    env.git("init", "-q", cwd=project)
    env.git("add", "-A", cwd=project)
    run_env = {**env.env, "PRE_COMMIT_HOME": str(env.root / "pre-commit-home")}
    proc = subprocess.run(
        [
            str(PRE_COMMIT),
            "try-repo",
            str(ROOT),
            "vaultsync-validate",
            "--files",
            "good.json",
            "bad.jsonl",
        ],
        cwd=project,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "invalid  bad.jsonl: " in proc.stdout
    assert "good.json" not in proc.stdout.split("- exit code: 1", 1)[1]
