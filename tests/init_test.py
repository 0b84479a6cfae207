from __future__ import annotations

from tests.conftest import Env


def test_init_creates_a_durable_vault_with_config_and_first_commit(env: Env) -> None:
    out = env.vs("init").stdout
    assert f"created {env.vault}" in out
    assert (env.vault / "vaultsync.toml").is_file()
    assert (env.vault / ".gitignore").read_text() == ".last_sync\n.vaultsync/\n*.vaultsync-tmp\n"
    assert set(env.head_files()) == {"vaultsync.toml", ".gitignore"}
    assert env.git("config", "core.fsync").strip() == "committed,index"
    assert env.git("config", "maintenance.auto").strip() == "false"
    assert env.git("config", "gc.autoDetach").strip() == "false"
    assert env.git("status", "--porcelain") == ""


def test_init_twice_changes_nothing(env: Env) -> None:
    env.vs("init")
    head = env.git("rev-parse", "HEAD")
    out = env.vs("init").stdout
    assert "already exists" in out
    assert env.git("rev-parse", "HEAD") == head


def test_init_repairs_durability_settings(env: Env) -> None:
    env.vs("init")
    env.git("config", "core.fsync", "none")
    env.vs("init")
    assert env.git("config", "core.fsync").strip() == "committed,index"


def test_init_refuses_a_folder_with_files(env: Env) -> None:
    env.vault.mkdir()
    (env.vault / "notes.txt").write_text("mine")
    err = env.vs("init", code=2).stderr
    assert "exists and is not empty" in err


def test_init_records_the_remote_in_config_and_git(env: Env) -> None:
    env.vs("init", "--remote", "git://127.0.0.1/vault.git")
    assert 'remote = "origin"' in (env.vault / "vaultsync.toml").read_text()
    assert env.git("remote", "get-url", "origin").strip() == "git://127.0.0.1/vault.git"
    assert env.git("status", "--porcelain") == ""


def test_init_refuses_a_remote_url_with_a_password(env: Env) -> None:
    err = env.vs("init", "--remote", "https://me:hunter2@git.example.invalid/v.git", code=2).stderr
    assert "password" in err
    assert "hunter2" not in err
    assert not env.vault.exists()


def test_init_sets_fast_compression_and_split_index(env: Env) -> None:
    env.vs("init")
    assert env.git("config", "core.compression").strip() == "1"
    assert env.git("config", "core.splitIndex").strip() == "true"
