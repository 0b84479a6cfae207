from __future__ import annotations

import tomllib

from tests.conftest import HOST, Env


def sources(env: Env) -> list[dict[str, object]]:
    doc = tomllib.loads((env.vault / "vaultsync.toml").read_text())
    return list(doc.get("sources", []))


def test_track_stores_home_paths_as_tilde_and_binds_to_this_host(env: Env) -> None:
    env.memories(".claude")
    env.vs("init")
    out = env.vs("track", str(env.home / ".claude")).stdout
    assert "as 'claude'" in out
    assert sources(env) == [{"name": "claude", "path": "~/.claude", "host": HOST}]
    assert "vaultsync: track claude" in env.git("log", "-1", "--format=%s")
    assert env.git("status", "--porcelain") == ""


def test_track_any_host_and_options(env: Env) -> None:
    env.memories()
    env.vs("init")
    env.vs(
        "track",
        str(env.home / "mem"),
        "--name",
        "work",
        "--any-host",
        "--include",
        "**/*.json",
        "--exclude",
        "export/**",
        "--schema",
        "json",
    )
    assert sources(env) == [
        {
            "name": "work",
            "path": "~/mem",
            "include": ["**/*.json"],
            "exclude": ["export/**"],
            "schema": "json",
        }
    ]


def test_track_keeps_the_users_comments(env: Env) -> None:
    env.memories()
    env.vs("init")
    cfg = env.vault / "vaultsync.toml"
    cfg.write_text(cfg.read_text() + "# my own note: keep this\n")
    env.vs("track", str(env.home / "mem"))
    env.vs("untrack", "mem")
    assert "# my own note: keep this" in cfg.read_text()
    assert "# block | warn | off" in cfg.read_text()


def test_track_outside_home_keeps_the_absolute_path(env: Env) -> None:
    other = env.root / "elsewhere"
    other.mkdir()
    env.vs("init")
    env.vs("track", str(other))
    assert sources(env)[0]["path"] == str(other)


def test_track_errors_are_clear(env: Env) -> None:
    env.memories()
    env.vs("init")
    assert "does not exist" in env.vs("track", str(env.home / "nope"), code=2).stderr
    env.vs("track", str(env.home / "mem"))
    err = env.vs("track", str(env.home / "mem"), code=2).stderr
    assert "a source named 'mem' exists already" in err and "--name" in err
    assert "overlaps the vault" in env.vs("track", str(env.vault), code=2).stderr


def test_track_without_a_vault_says_how_to_make_one(env: Env) -> None:
    env.memories()
    err = env.vs("track", str(env.home / "mem"), code=2).stderr
    assert "no vault at" in err and "vaultsync init" in err


def test_untrack_keeps_history(synced: Env) -> None:
    synced.vs("untrack", "mem")
    assert sources(synced) == []
    assert "mem/mcp/memory.jsonl" in synced.head_files()
    assert "no source named 'mem'" in synced.vs("untrack", "mem", code=2).stderr


def test_adopt_binds_sources_to_this_machine(env: Env) -> None:
    env.memories()
    env.vs("init")
    env.vs("track", str(env.home / "mem"))
    env.env["VAULTSYNC_HOST"] = "newlaptop"
    # On another machine the source is not synced: the sync says so and does not exit 0
    # (a renamed machine would otherwise back up nothing, "ok", forever).
    err = env.vs("sync", code=1).stderr
    assert "no source is bound to this machine ('newlaptop')" in err
    assert "mem (testhost)" in err and "vaultsync adopt mem" in err
    err = env.vs("sync", "--source", "mem", code=2).stderr
    assert "belongs to host 'testhost'" in err and "vaultsync adopt mem" in err
    env.vs("adopt", "mem")
    assert sources(env)[0]["host"] == "newlaptop"
    assert "committed" in env.vs("sync").stdout
