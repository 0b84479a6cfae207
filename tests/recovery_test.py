"""Disaster recovery: a new machine with only the vault's URL or a copy of it."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import Env


def test_init_from_a_copy_then_restore_puts_every_file_back_in_a_fresh_home(synced: Env) -> None:
    originals = {
        p.relative_to(synced.home): p.read_bytes()
        for p in (synced.home / "mem").rglob("*")
        if p.is_file()
    }
    copy = synced.root / "usb-copy"
    shutil.copytree(synced.vault, copy)
    # The old machine is gone: a new HOME, a new hostname, a new vault folder.
    shutil.rmtree(synced.home)
    synced.home.mkdir()
    synced.env["VAULTSYNC_HOST"] = "newmachine"
    synced.env["VAULTSYNC_VAULT"] = str(synced.root / "vault2")
    synced.vault = synced.root / "vault2"
    out = synced.vs("init", "--from", str(copy)).stdout
    assert "vaultsync restore --at HEAD --yes" in out and "vaultsync adopt mem" in out
    assert synced.git("config", "core.fsync").strip() == "committed,index"
    synced.vs("restore", "--at", "HEAD", "--yes")
    restored = {
        p.relative_to(synced.home): p.read_bytes()
        for p in (synced.home / "mem").rglob("*")
        if p.is_file()
    }
    assert restored == originals
    for p in (synced.home / "mem").rglob("*.json"):
        assert p.stat().st_mode & 0o777 == 0o600  # new files are private
    assert "ok: no problems found" in synced.vs("verify").stdout
    synced.vs("adopt", "mem")
    assert "nothing changed" in synced.vs("sync").stdout


def test_init_from_refuses_a_non_vault_and_a_full_folder(env: Env) -> None:
    plain = env.root / "plain"
    plain.mkdir()
    env.git("init", "-q", cwd=plain)
    env.git(
        "-c",
        "user.name=x",
        "-c",
        "user.email=x@x",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
        cwd=plain,
    )
    assert "not a vaultsync vault" in env.vs("init", "--from", str(plain), code=2).stderr
    full = env.root / "full"
    full.mkdir()
    (full / "x").write_text("x")
    env.env["VAULTSYNC_VAULT"] = str(full)
    assert "not empty" in env.vs("init", "--from", str(plain), code=2).stderr


def test_init_from_a_missing_url_says_so(env: Env) -> None:
    err = env.vs("init", "--from", "git://127.0.0.1:9/nope.git", code=2).stderr
    assert "cannot clone git://127.0.0.1:9/nope.git" in err
    assert "unable to connect" in err.lower() or "connection refused" in err.lower()


def new_machine(env: Env) -> None:
    shutil.rmtree(env.home)
    env.home.mkdir()
    env.vault = env.root / "vault2"
    env.env["VAULTSYNC_VAULT"] = str(env.vault)


@pytest.mark.parametrize("head", ["dangling", "another branch"])
def test_init_from_a_bare_remote_whose_head_is_not_the_vaults_branch(
    synced: Env, head: str
) -> None:
    bare = synced.root / "bare.git"
    synced.git("init", "-q", "--bare", "--initial-branch=master", str(bare), cwd=synced.root)
    synced.git("push", "-q", str(bare), "main")
    if head == "another branch":
        other = synced.root / "other"
        synced.git("init", "-q", "--initial-branch=master", str(other), cwd=synced.root)
        synced.git("commit", "-q", "--allow-empty", "-m", "unrelated", cwd=other)
        synced.git("push", "-q", str(bare), "master", cwd=other)
    new_machine(synced)
    synced.vs("init", "--from", str(bare))
    assert synced.git("symbolic-ref", "--short", "HEAD").strip() == "main"
    synced.vs("restore", "--at", "HEAD", "--yes")
    assert (synced.home / "mem" / "mcp" / "memory.jsonl").exists()
    assert synced.vault.stat().st_mode & 0o777 == 0o700


def test_a_failed_init_from_leaves_nothing_so_the_retry_works(synced: Env) -> None:
    plain = synced.root / "plain"
    synced.git("init", "-q", str(plain), cwd=synced.root)
    synced.git("commit", "-q", "--allow-empty", "-m", "x", cwd=plain)
    copy = synced.root / "copy"
    shutil.copytree(synced.vault, copy)
    new_machine(synced)
    assert "not a vaultsync vault" in synced.vs("init", "--from", str(plain), code=2).stderr
    assert not synced.vault.exists()
    synced.vs("init", "--from", str(copy))


def test_a_clone_of_a_bundle_does_not_push_into_it(synced: Env) -> None:
    upstream = synced.root / "upstream.git"
    synced.git("init", "-q", "--bare", str(upstream), cwd=synced.root)
    synced.vs("init", "--remote", str(upstream))
    synced.vs("sync")
    bundle = synced.root / "vault.bundle"
    synced.git("bundle", "create", str(bundle), "--all")
    before = bundle.read_bytes()
    new_machine(synced)
    out = synced.vs("init", "--from", str(bundle)).stdout
    assert "vaultsync init --remote URL" in out
    assert synced.git("remote").strip() == ""
    assert "remote =" not in (synced.vault / "vaultsync.toml").read_text()
    synced.vs("restore", "--at", "HEAD", "--yes")
    synced.vs("adopt", "mem")
    (synced.home / "mem" / "new.json").write_text('{"id": "n", "content": "after the move"}')
    assert "push" not in synced.vs("sync").stderr
    assert bundle.read_bytes() == before


def test_a_single_file_source_comes_back_as_a_file_on_a_new_machine(env: Env) -> None:
    claude = env.home / ".claude"
    claude.mkdir()
    (claude / "CLAUDE.md").write_text("# remember: tabs, not spaces\n")
    env.vs("init")
    env.vs("track", str(claude / "CLAUDE.md"), "--any-host", "--schema", "none")
    assert 'kind = "file"' in (env.vault / "vaultsync.toml").read_text()
    env.vs("sync")
    copy = env.root / "copy"
    shutil.copytree(env.vault, copy)
    new_machine(env)
    env.vs("init", "--from", str(copy))
    env.vs("restore", "--at", "HEAD", "--yes")
    assert (claude / "CLAUDE.md").read_text() == "# remember: tabs, not spaces\n"
    assert "ok: no problems found" in env.vs("verify").stdout
    (claude / "CLAUDE.md").unlink()
    (claude / "CLAUDE.md").mkdir()
    out = env.vs("verify", code=1).stdout
    assert "is a folder, but it was tracked as a file" in out and "ok:" not in out


def _git_that_kills_its_caller_after(env: Env, subcommand: str) -> dict[str, str]:
    """PATH with a `git` that runs the real one, then SIGKILLs the vaultsync that
    started it once `git SUBCOMMAND` has succeeded: a kill at that exact step."""
    import os
    import shutil as sh
    import stat

    real = sh.which("git")
    assert real
    bin_dir = env.root / "killing-git"
    bin_dir.mkdir()
    script = bin_dir / "git"
    script.write_text(
        "#!/bin/sh\n"
        f'"{real}" "$@"; rc=$?\n'
        f'if [ "$rc" = 0 ] && [ "$1" = {subcommand} ]; then kill -KILL "$PPID"; fi\n'
        'exit "$rc"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {**env.env, "PATH": f"{bin_dir}{os.pathsep}{env.env.get('PATH', os.defpath)}"}


def test_an_init_from_killed_after_its_clone_is_cleared_by_the_retry(synced: Env) -> None:
    # Found by scripts/torture's faults part (open(2) failing with EIO at p=0.5): init
    # --from stopped after git's clone and its clean-up failed under the same fault; the
    # retry then refused "exists and is not empty", exit 2, for good. A kill right
    # after the clone leaves the same leftover.
    import subprocess
    import sys

    copy = synced.root / "copy"
    shutil.copytree(synced.vault, copy)
    new_machine(synced)
    killed = subprocess.run(
        [sys.executable, "-m", "vaultsync", "init", "--from", str(copy)],
        env=_git_that_kills_its_caller_after(synced, "clone"), cwd=synced.root,
        capture_output=True, text=True, timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    assert (synced.vault / ".git").is_dir()  # the clone is there, unfinished
    out = synced.vs("init", "--from", str(copy)).stdout
    assert f"cloned {copy}" in out
    assert "cloning" not in synced.git("config", "--list")  # finished: a vault now
    synced.vs("restore", "--at", "HEAD", "--yes")
    assert (synced.home / "mem" / "mcp" / "memory.jsonl").exists()


def test_a_folder_a_sync_committed_into_is_never_cleared_as_an_unfinished_clone(
    synced: Env,
) -> None:
    copy = synced.root / "copy"
    shutil.copytree(synced.vault, copy)
    new_machine(synced)
    synced.git("clone", "-q", "--config", "vaultsync.cloning=true", str(copy),
               str(synced.vault), cwd=synced.root)
    synced.git("commit", "-q", "--allow-empty", "-m", "a memory of its own")
    err = synced.vs("init", "--from", str(copy), code=2).stderr
    assert "exists and is not empty" in err
    assert "a memory of its own" in synced.git("log", "-1", "--format=%s")
