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


def test_the_vault_is_private_and_init_tightens_an_old_one(env: Env) -> None:
    env.vs("init")
    assert env.vault.stat().st_mode & 0o777 == 0o700
    env.vault.chmod(0o755)  # a vault made by an older vaultsync
    env.vs("init")
    assert env.vault.stat().st_mode & 0o777 == 0o700


def test_init_leaves_an_ordinary_git_repository_alone(env: Env) -> None:
    project = env.root / "project"
    project.mkdir()
    env.git("init", "-q", cwd=project)
    (project / "README").write_text("mine")
    env.git("add", "README", cwd=project)
    env.git("commit", "-q", "-m", "mine", cwd=project)
    err = env.vs("init", "--vault", str(project), code=2).stderr
    assert "not a vaultsync vault" in err
    assert not (project / "vaultsync.toml").exists()
    assert env.git("rev-list", "--count", "HEAD", cwd=project).strip() == "1"


def test_init_on_a_file_is_a_clear_error(env: Env) -> None:
    a_file = env.root / "notes.txt"
    a_file.write_text("x")
    for where in (a_file, a_file / "vault"):
        err = env.vs("init", "--vault", str(where), code=2).stderr
        assert f"{a_file} is a file" in err
    assert a_file.read_text() == "x"


def test_init_never_changes_an_existing_origin_quietly(env: Env) -> None:
    env.vs("init", "--remote", "git://127.0.0.1/vault.git")
    commits = env.commits()
    env.vs("init", "--remote", "git://127.0.0.1/vault.git")  # the same: nothing to do
    assert env.commits() == commits
    err = env.vs("init", "--remote", "git://127.0.0.1/other.git", code=2).stderr
    assert "git://127.0.0.1/vault.git" in err
    assert f"git -C {env.vault} remote set-url origin git://127.0.0.1/other.git" in err
    assert env.git("remote", "get-url", "origin").strip() == "git://127.0.0.1/vault.git"
    assert env.commits() == commits
