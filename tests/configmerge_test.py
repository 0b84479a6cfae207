"""vaultsync.toml merged as data: sources by name, settings by key, three-way."""

from __future__ import annotations

import tomllib

from vaultsync.configmerge import merge

BASE = b"""# my vault
[vault]
branch = "main"
max_delete = 0.5

[[sources]]
name = "mem"
path = "~/mem"
host = "laptop"
"""


def source(name: str, path: str, host: str) -> bytes:
    return f'\n[[sources]]\nname = "{name}"\npath = "{path}"\nhost = "{host}"\n'.encode()


def names(text: bytes) -> list[str]:
    return [s["name"] for s in tomllib.loads(text.decode())["sources"]]


def test_sources_added_on_both_sides_are_both_kept() -> None:
    ours = BASE + source("notes", "~/notes", "laptop")
    theirs = BASE + source("work", "~/work", "desktop")
    merged = merge([BASE], ours, theirs)
    assert merged.conflicts == []
    assert names(merged.text) == ["mem", "notes", "work"]
    assert merged.text.startswith(b"# my vault\n")  # our file, comments and all


def test_a_setting_changed_on_one_side_is_taken() -> None:
    theirs = BASE.replace(b"max_delete = 0.5", b"max_delete = 0.25")
    merged = merge([BASE], BASE, theirs)
    assert tomllib.loads(merged.text.decode())["vault"]["max_delete"] == 0.25
    assert merge([BASE], theirs, BASE).text == theirs  # ours changed: kept


def test_a_real_conflict_keeps_ours_and_says_so() -> None:
    ours = BASE.replace(b'path = "~/mem"', b'path = "~/mem2"')
    theirs = BASE.replace(b'path = "~/mem"', b'path = "~/mem3"')
    merged = merge([BASE], ours, theirs)
    assert merged.text == ours
    [said] = merged.conflicts
    assert "source 'mem'" in said and "~/mem2" in said and "~/mem3" in said


def test_a_source_untracked_on_the_other_side_goes() -> None:
    base = BASE + source("old", "~/old", "desktop")
    merged = merge([base], base + source("notes", "~/n", "laptop"), BASE)
    assert names(merged.text) == ["mem", "notes"]


def test_unrelated_vaults_unite_their_sources() -> None:
    theirs = BASE.replace(b'name = "mem"', b'name = "desk"')
    merged = merge([None], BASE, theirs)
    assert names(merged.text) == ["mem", "desk"]


def test_a_broken_side_keeps_ours() -> None:
    merged = merge([BASE], BASE, b"[vault\n")
    assert merged.text == BASE and merged.conflicts


def test_a_remote_dropped_on_the_other_side_is_kept_here() -> None:
    ours = BASE.replace(b'branch = "main"', b'branch = "main"\nremote = "origin"')
    merged = merge([ours], ours, BASE)  # their clone of a bundle dropped the remote
    assert tomllib.loads(merged.text.decode())["vault"]["remote"] == "origin"
