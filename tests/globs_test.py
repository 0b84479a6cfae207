from __future__ import annotations

import pytest

from vaultsync.globs import GlobSet


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("**/*.json", "a.json", True),
        ("**/*.json", "x/y/a.json", True),
        ("**/*.json", "a.jsonl", False),
        ("*.json", "x/a.json", False),
        ("cache/**", "cache/a/b.json", True),
        ("cache/**", "notcache/a.json", False),
        ("**/cache/**", "p/cache/a.json", True),
        ("a?.json", "ab.json", True),
        ("a?.json", "a/.json", False),
        ("[ab].json", "b.json", True),
        ("[!ab].json", "b.json", False),
        ("memory(1).json", "memory(1).json", True),
    ],
)
def test_glob_semantics(pattern: str, path: str, hit: bool) -> None:
    assert GlobSet([pattern]).match(path) is hit


def test_empty_set_matches_nothing() -> None:
    assert not GlobSet([]).match("a.json")


def test_any_of_several() -> None:
    globs = GlobSet(["**/*.json", "**/*.jsonl"])
    assert globs.match("m/memory.jsonl") and globs.match("a.json")
    assert not globs.match("notes.md")


@pytest.mark.parametrize(
    "path", ["a.json", "x/y.jsonl", "x/.json", "a.json.bak", "json", "x/a.JSON"]
)
def test_suffix_fast_path_agrees_with_the_regex(path: str) -> None:
    globs = GlobSet(["**/*.json", "**/*.jsonl"])
    assert globs.suffixes == (".json", ".jsonl")
    assert globs.match(path) is globs._match_re(path)
