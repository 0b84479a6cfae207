"""Markdown and text memories: checked, diffed by section and item, merged, exported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import Env
from vaultsync import mdmemory, memmerge, schemas, semdiff

FIXTURES = Path(__file__).parent / "fixtures"
CLAUDE_HOME = FIXTURES / "claude-home"
CLAUDE_MD = (CLAUDE_HOME / "CLAUDE.md").read_text()
NOTE = FIXTURES / "notes" / "billing-weekly-bug.md"


def edited(text: str) -> str:
    """The agent learns a preference and a Deploy section, and forgets a Build item."""
    text = text.replace(
        "- Answer in English, code comments in English.\n",
        "- Answer in English, code comments in English.\n- Never push on Fridays.\n",
    )
    text = text.replace("- The staging deploy needs `DEPLOY_ENV=staging`.\n", "")
    return text + "\n## Deploy\n\n- `make deploy` ships to staging.\n"


def diff(old: str | None, new: str | None, schema: str = "markdown") -> semdiff.SemDiff:
    return semdiff.diff_docs(old, new, schema)


# --- reading ---------------------------------------------------------------------------------


def test_sections_items_and_what_is_not_a_heading() -> None:
    text = (
        "Intro line.\n\n# Top\n\n## A\n\n- one\n  - nested detail\n- two\n\n"
        "```sh\n# a comment, not a heading\n```\n\n## A\n\n1. numbered\n"
    )
    doc = mdmemory.parse(text)
    assert [s.path for s in doc.sections] == [(), ("Top",), ("Top", "A"), ("Top", "A")]
    items = [b.key for b in doc.sections[2].blocks if b.kind == "item"]
    assert items == ["one\n- nested detail", "two"]
    assert [b.key for b in doc.sections[3].blocks] == ["numbered"]
    assert mdmemory.section_name(doc, doc.sections[2]) == "Top / A"  # not unique: the path


def test_front_matter_dates_stay_text_for_json_schema() -> None:
    checked = schemas.check(b"---\ncreated: 2026-11-20\n---\n# x\n", "n/a.md", "markdown")
    assert checked.problem is None
    assert mdmemory.load_yaml("created: 2026-11-20") == {"created": "2026-11-20"}


def test_auto_picks_markdown_for_md_and_text_for_txt() -> None:
    assert schemas.check(NOTE.read_bytes(), "n/note.md").schema == "markdown"
    assert schemas.check(b"just notes\n", "n/todo.txt").schema == "text"
    assert schemas.check(b"# not JSON\n", "n/a.json").problem is not None


# --- diff ------------------------------------------------------------------------------------


def test_diff_speaks_of_sections_and_items() -> None:
    d = diff(CLAUDE_MD, edited(CLAUDE_MD))
    assert d.summary() == ('+1 item in "Preferences", -1 item in "Build", section "Deploy" added')
    assert d.lines() == [
        '~ section "Preferences"',
        "  + - Never push on Fridays.",
        '~ section "Build"',
        "  - - The staging deploy needs `DEPLOY_ENV=staging`.",
        '+ section "Deploy"',
        "  + - `make deploy` ships to staging.",
    ]


def test_reordering_items_is_no_change_and_front_matter_is_named() -> None:
    note = NOTE.read_text()
    assert diff(note, note.replace("title: billing weekly bug", "title: weekly bug")).summary() == (
        "front matter title changed"
    )
    lines = note.splitlines(keepends=True)
    moved = "".join(lines[:12] + [lines[13], lines[12]] + lines[14:])
    assert diff(note, moved).is_empty


def test_text_files_are_diffed_by_line() -> None:
    assert diff("a\nb\n", "a\nc\nd\n", "text").summary() == "+2 lines, -1 line"


# --- merge -----------------------------------------------------------------------------------


def test_merge_brings_back_removed_items_and_sections_keeping_what_is_new() -> None:
    now = edited(CLAUDE_MD).replace("## People\n\n- Ada owns the billing service.\n", "")
    result = memmerge.merge_docs(now, CLAUDE_MD, "markdown")
    merged = result.doc
    assert "- The staging deploy needs `DEPLOY_ENV=staging`." in merged
    assert "## People\n\n- Ada owns the billing service." in merged
    assert "- Never push on Fridays." in merged and "## Deploy" in merged
    # Back where it stood: the Build item after its neighbour, People before Deploy.
    assert merged.index("`make check`") < merged.index("DEPLOY_ENV") < merged.index("## People")
    assert merged.index("## People") < merged.index("## Deploy")
    assert result.lines("X") == [
        '+ item in "Build": The staging deploy needs `DEPLOY_ENV=staging`.',
        '+ section "People"',
    ]
    again = memmerge.merge_docs(merged, CLAUDE_MD, "markdown")
    assert again.doc == merged and not again.changed  # nothing lost twice


def test_merge_does_not_adopt_the_subsections_that_follow() -> None:
    past = "# A\n\n- a\n\n## A1\n\n- x\n\n# B\n\n- b\n"
    now = "# A\n\n- a\n\n## A1\n\n- x\n"
    merged = memmerge.merge_docs(now, past, "markdown").doc
    assert merged == "# A\n\n- a\n\n## A1\n\n- x\n\n# B\n\n- b\n"


def test_text_files_are_refused_for_merge() -> None:
    with pytest.raises(Exception, match="has none"):
        memmerge.merge_docs("a\n", "b\n", "text")


# --- through the command ---------------------------------------------------------------------


def claude_home(env: Env) -> Path:
    home = env.home / ".claude"
    shutil.copytree(CLAUDE_HOME, home)
    env.vs("init")
    env.vs("track", str(home))
    env.vs("sync")
    return home


def test_track_claude_takes_claude_md_settings_and_transcripts(env: Env) -> None:
    claude_home(env)
    files = env.head_files()
    assert "claude/CLAUDE.md" in files and "claude/settings.json" in files
    assert any(p.startswith("claude/projects/") and p.endswith(".jsonl") for p in files)


def test_commit_body_and_diff_name_sections_and_items(env: Env) -> None:
    home = claude_home(env)
    (home / "CLAUDE.md").write_text(edited(CLAUDE_MD))
    out = env.vs("diff", str(home / "CLAUDE.md")).stdout
    summary = '+1 item in "Preferences", -1 item in "Build", section "Deploy" added'
    assert f"claude/CLAUDE.md: {summary}" in out
    assert '  ~ section "Build"\n    - - The staging deploy needs' in out
    env.vs("sync")
    assert f"claude/CLAUDE.md: {summary}" in env.git("log", "-1", "--format=%b")
    assert f"    M claude/CLAUDE.md: {summary}" in env.vs("log", "-n", "1").stdout


def test_restore_merge_on_markdown(env: Env) -> None:
    home = claude_home(env)
    at = env.git("rev-parse", "HEAD").strip()
    wiped = edited(CLAUDE_MD).replace("## People\n\n- Ada owns the billing service.\n", "")
    (home / "CLAUDE.md").write_text(wiped)
    env.vs("sync")
    dry = env.vs("restore", "--at", at, "claude/CLAUDE.md", "--merge", "--dry-run").stdout
    assert '+ section "People"' in dry and "DEPLOY_ENV" in dry
    env.vs("restore", "--at", at, "claude/CLAUDE.md", "--merge", "--yes")
    text = (home / "CLAUDE.md").read_text()
    assert "Ada owns the billing service" in text and "DEPLOY_ENV=staging" in text
    assert "Never push on Fridays" in text and "## Deploy" in text


def test_export_carries_markdown_as_itself(env: Env) -> None:
    claude_home(env)
    env.vs("export", "--format", "json", "--output", str(env.root / "out"))
    doc = json.loads((env.root / "out" / "memories.json").read_text())
    (entry,) = [e for e in doc["memories"] if e["vault_path"] == "claude/CLAUDE.md"]
    assert entry["kind"] == "markdown" and entry["data"] == CLAUDE_MD
    env.vs("export", "--format", "markdown", "--output", str(env.root / "md"))
    assert "## Preferences\n\n- Run the tests" in (env.root / "md" / "memories.md").read_text()


def test_front_matter_checked_against_the_sources_schema(env: Env) -> None:
    notes = env.home / "notes"
    notes.mkdir()
    shutil.copy(NOTE, notes / "bug.md")
    (notes / "untitled.md").write_text("---\ntype: note\n---\n# x\n")
    env.vs("init")
    schema = {"type": "object", "required": ["title"]}
    (env.vault / "note.schema.json").write_text(json.dumps(schema))
    env.vs("track", str(notes))
    config = env.vault / "vaultsync.toml"
    config.write_text(config.read_text() + 'schema = {"**/*.md" = "markdown:note.schema.json"}\n')
    out = env.vs("sync", "--json", code=1).stdout
    (rejected,) = json.loads(out)["rejected"]
    assert rejected["path"] == "notes/untitled.md"
    assert (
        "front matter" in rejected["reason"]
        and "'title' is a required property" in (rejected["reason"])
    )
    assert "notes/bug.md" in env.head_files()


def test_front_matter_nested_too_deeply_is_rejected_and_the_rest_syncs(synced: Env) -> None:
    # Found by scripts/torture: YAML nested 800 deep made the sync exit 70.
    mem = synced.home / "mem"
    (mem / "deep.md").write_bytes(b"---\nx: " + b"[" * 800 + b"]" * 800 + b"\n---\n# t\n")
    (mem / "fine.json").write_text('{"id": "f", "content": "c"}')
    doc = json.loads(synced.vs("sync", "--json", code=1).stdout)
    assert doc["added"] == ["mem/fine.json"]
    assert [r["path"] for r in doc["rejected"]] == ["mem/deep.md"]
