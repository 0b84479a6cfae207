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
    assert sources(env) == [{"name": "claude", "path": "~/.claude", "host": HOST, "kind": "dir"}]
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
            "kind": "dir",
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
    other = env.root / "mem"
    other.mkdir()
    env.vs("track", str(env.home / "mem"))
    err = env.vs("track", str(other), code=2).stderr
    assert "a source named 'mem' exists already" in err and "--name" in err
    assert "overlaps the vault" in env.vs("track", str(env.vault), code=2).stderr


def test_track_without_a_vault_says_how_to_make_one(env: Env) -> None:
    env.memories()
    err = env.vs("track", str(env.home / "mem"), code=2).stderr
    assert "no vault at" in err and "vaultsync init" in err
    # Nothing left behind (a `.vaultsync/lock` made init refuse the folder as not empty),
    # so following the hint works.
    assert not env.vault.exists() or not any(env.vault.iterdir())
    env.vs("init")
    env.vs("track", str(env.home / "mem"))


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


def test_tracking_a_tracked_path_again_updates_that_source(env: Env) -> None:
    mem = env.memories()
    env.vs("init", "-q")
    env.vs("track", str(mem), "-q")
    out = env.vs("track", str(mem)).stdout
    assert "~/mem is tracked already as 'mem'; nothing changed" in out
    out = env.vs("track", str(mem), "--also", "**/*.mem", "--exclude", "export/**").stdout
    default = "**/*.json, **/*.jsonl, **/*.md"
    assert f"updated 'mem' (~/mem): include {default} -> {default}, **/*.mem" in out
    assert "exclude (none) -> export/**" in out
    assert sources(env) == [
        {
            "name": "mem",
            "path": "~/mem",
            "host": HOST,
            "kind": "dir",
            "include": ["**/*.json", "**/*.jsonl", "**/*.md", "**/*.mem"],
            "exclude": ["export/**"],
        }
    ]
    assert "track mem: include" in env.git("log", "-1", "--format=%s")
    out = env.vs(
        "track", str(mem), "--include", "**/*.json", "--any-host", "--schema", "json"
    ).stdout
    assert f"include {default}, **/*.mem -> **/*.json" in out
    assert f"schema auto -> json; host {HOST} -> any" in out
    assert sources(env)[0] == {
        "name": "mem",
        "path": "~/mem",
        "include": ["**/*.json"],
        "exclude": ["export/**"],
        "schema": "json",
        "kind": "dir",
    }
    err = env.vs("track", str(mem), "--name", "other", code=2).stderr
    assert "tracked already as 'mem'; a source is not renamed" in err


def test_the_same_folder_on_another_machine_is_another_source(env: Env) -> None:
    mem = env.memories()
    env.vs("init", "-q")
    env.vs("track", str(mem), "-q")
    env.env["VAULTSYNC_HOST"] = "desktop"
    env.vs("track", str(mem), "--name", "mem-desktop", "-q")
    assert [(s["name"], s["host"]) for s in sources(env)] == [
        ("mem", HOST),
        ("mem-desktop", "desktop"),
    ]


def test_a_second_machine_tracking_its_own_folder_gets_a_host_qualified_name(env: Env) -> None:
    mem = env.memories()
    env.vs("init", "-q")
    env.vs("track", str(mem), "-q")
    env.env["VAULTSYNC_HOST"] = "Desk top"
    out = env.vs("track", str(mem)).stdout
    assert "as 'mem-Desk-top' (host Desk top)" in out
    env.env["VAULTSYNC_HOST"] = "laptop"
    env.vs("track", str(mem), "--name", "mem-desk", "-q")
    env.env["VAULTSYNC_HOST"] = "desk"  # "mem-desk" is laptop's: a number is added
    env.vs("track", str(mem), "-q")
    assert [(s["name"], s["host"]) for s in sources(env)] == [
        ("mem", HOST),
        ("mem-Desk-top", "Desk top"),
        ("mem-desk", "laptop"),
        ("mem-desk-2", "desk"),
    ]
    env.vs("sync", "-q")  # desk's copy goes to its own folder in the vault
    assert "mem-desk-2/mcp/memory.jsonl" in env.head_files()


def test_a_file_inside_a_tracked_folder_is_refused_naming_the_source(env: Env) -> None:
    mem = env.memories()
    env.vs("init", "-q")
    env.vs("track", str(mem), "--name", "agent", "-q")
    err = env.vs("track", str(mem / "mcp" / "memory.jsonl"), code=2).stderr
    assert "is inside the folder of source 'agent' (~/mem)" in err
    assert "agent/mcp/memory.jsonl" in err and "vaultsync track ~/mem --include" in err
    assert "inside the folder of source 'agent'" in env.vs("track", str(mem / "mcp"), code=2).stderr
    assert len(sources(env)) == 1


def test_include_says_it_replaces_the_defaults_and_also_adds(env: Env) -> None:
    help_text = " ".join(env.vs("track", "--help").stdout.split())
    assert "--include GLOB Keep the files matching GLOB, instead of the default" in help_text
    assert "--also GLOB Keep the files matching GLOB too, beside the default globs" in help_text
    notes = env.home / "notes"
    notes.mkdir()
    (notes / "a.json").write_text("{}")
    (notes / "b.mem").write_text('{"id": "b", "content": "kept too"}')
    (notes / "c.txt").write_text("left out")
    env.vs("init", "-q")
    env.vs("track", str(notes), "--also", "*.mem", "-q")
    env.vs("sync", "-q")
    files = set(env.head_files())
    assert {"notes/a.json", "notes/b.mem"} <= files and "notes/c.txt" not in files


def test_adopt_all_binds_every_other_machines_source(env: Env) -> None:
    env.vs("init", "-q")
    for name in ("a", "b", "c"):
        (env.home / name).mkdir()
        env.vs("track", str(env.home / name), "-q", *(["--any-host"] if name == "c" else []))
    env.env["VAULTSYNC_HOST"] = "newlaptop"
    assert "bound a, b to this machine (newlaptop)" in env.vs("adopt", "--all").stdout
    assert [s.get("host") for s in sources(env)] == ["newlaptop", "newlaptop", None]
    assert "already" in env.vs("adopt", "--all").stdout
    assert "or give --all (not both)" in env.vs("adopt", code=2).stderr
    assert "not both" in env.vs("adopt", "a", "--all", code=2).stderr


def test_adopt_all_refuses_two_machines_copies_of_one_folder(env: Env) -> None:
    mem = env.memories()
    env.vs("init", "-q")
    env.vs("track", str(mem), "-q")
    env.env["VAULTSYNC_HOST"] = "desktop"
    env.vs("track", str(mem), "--name", "mem-desktop", "-q")
    env.env["VAULTSYNC_HOST"] = "newlaptop"
    err = env.vs("adopt", "--all", code=2).stderr
    assert "'mem' and 'mem-desktop' both keep ~/mem" in err and "vaultsync adopt NAME" in err
