"""Secrets inside a sync: block (default), warn, off."""

from __future__ import annotations

import json
import random
import shutil
import string
from pathlib import Path

import pytest

from tests.conftest import Env


def fake_github_token() -> str:
    rng = random.Random(7)
    return (
        "gh" + "p_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(36))
    )


def plant(env: Env) -> str:
    token = fake_github_token()
    lines = [
        json.dumps({"type": "entity", "name": "ci", "entityType": "tool", "observations": []}),
        json.dumps({"type": "entity", "name": "x", "entityType": "t", "observations": []}),
        json.dumps(
            {
                "type": "entity",
                "name": "gh",
                "entityType": "cred",
                "observations": [f"the deploy token is {token}"],
            }
        ),
    ]
    (env.home / "mem" / "mcp" / "memory.jsonl").write_text("\n".join(lines))
    return token


def set_policy(env: Env, policy: str) -> None:
    cfg = env.vault / "vaultsync.toml"
    cfg.write_text(cfg.read_text().replace('secrets = "block"', f'secrets = "{policy}"'))


def everything_in_git(env: Env) -> str:
    return env.git("log", "--all", "-p", "--format=%B")


def test_block_rejects_names_line_and_kind_and_writes_nothing_to_git(synced: Env) -> None:
    token = plant(synced)
    proc = synced.vs("sync", "--json", code=1)
    doc = json.loads(proc.stdout)
    assert doc["rejected"] == [
        {
            "path": "mem/mcp/memory.jsonl",
            "reason": "secret found: line 3: GitHub token; not committed: exclude the file, "
            'or set secrets = "redact" (or "warn") on its source',
        }
    ]
    assert token not in proc.stdout + proc.stderr
    assert token not in everything_in_git(synced)
    assert token not in (synced.vault / ".vaultsync" / "vaultsync.log").read_text()
    assert token not in (synced.vault / "mem" / "mcp" / "memory.jsonl").read_text()


@pytest.mark.parametrize("policy", ["warn", "off"])
def test_warn_and_off_commit_the_file(synced: Env, policy: str) -> None:
    set_policy(synced, policy)
    token = plant(synced)
    proc = synced.vs("sync", "--json")
    assert "mem/mcp/memory.jsonl" in json.loads(proc.stdout)["modified"]
    assert token in synced.git("show", "HEAD:mem/mcp/memory.jsonl")
    warned = "committed with secret found: line 3: GitHub token" in proc.stderr
    assert warned is (policy == "warn")
    assert token not in proc.stderr


# --- a realistic ~/.claude: credential files, redaction ----------------------------------------

CLAUDE_HOME = Path(__file__).parent / "fixtures" / "claude-home"
TRANSCRIPT = "claude/projects/-home-me-app/5b7c0e1e-2f4a-4c1b-9a51-7a0f3c2d9e11.jsonl"


def fake_anthropic_key() -> str:
    rng = random.Random(11)
    body = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(80))
    return "sk-" + "ant-api03-" + body


def claude_home(env: Env, *track_args: str) -> Path:
    home = env.home / ".claude"
    shutil.copytree(CLAUDE_HOME, home)
    token = fake_anthropic_key().replace("api03", "oat01")
    (home / ".credentials.json").write_text(
        json.dumps({"claudeAiOauth": {"accessToken": token, "refreshToken": token[::-1]}})
    )
    env.vs("init")
    env.vs("track", str(home), *track_args)
    return home


def paste_key(home: Path) -> str:
    key = fake_anthropic_key()
    event = {"type": "user", "message": {"role": "user", "content": f"use this key: {key} ok?"}}
    with (home / TRANSCRIPT.partition("/")[2]).open("a") as f:
        f.write(json.dumps(event) + "\n")
    return key


def set_source_secrets(env: Env, policy: str) -> None:
    cfg = env.vault / "vaultsync.toml"
    cfg.write_text(cfg.read_text() + f'secrets = "{policy}"\n')


def test_credential_files_are_left_out_quietly_and_shown_in_status(env: Env) -> None:
    claude_home(env)
    first = env.vs("sync", "--json")
    assert json.loads(first.stdout)["rejected"] == []
    files = env.head_files()
    assert "claude/.credentials.json" not in files and "claude/CLAUDE.md" in files
    assert TRANSCRIPT in files and "claude/settings.json" in files
    again = env.vs("sync", "--quiet")  # cron: nothing to mail, run after run
    assert again.stdout == again.stderr == ""
    status = env.vs("status").stdout
    assert status.count(".credentials.json") == 1
    assert "excluded:  claude/.credentials.json (a credential file" in status
    assert json.loads(env.vs("status", "--json").stdout)["excluded"] == [
        "claude/.credentials.json"
    ]


def test_include_names_a_credential_file_to_take_it_on_purpose(env: Env) -> None:
    home = claude_home(env, "--include", "**/*.md", "--include", ".credentials.json")
    (home / ".credentials.json").write_text('{"note": "no token in here"}')
    env.vs("sync")
    assert "claude/.credentials.json" in env.head_files()


def test_redact_backs_up_a_transcript_with_a_pasted_key(env: Env) -> None:
    home = claude_home(env)
    set_source_secrets(env, "redact")
    env.vs("sync")
    key = paste_key(home)
    out = env.vs("sync", "--json")
    assert json.loads(out.stdout)["modified"] == [TRANSCRIPT]
    assert "[REDACTED:<kind>]" in out.stderr and "Anthropic API key" in out.stderr
    copy = env.git("show", f"HEAD:{TRANSCRIPT}")
    assert "use this key: [REDACTED:anthropic] ok?" in copy
    assert copy.count("\n") == (home / TRANSCRIPT.partition("/")[2]).read_text().count("\n")
    # The vault differs from the source by design: no endless "modified", no damage.
    assert json.loads(env.vs("sync", "--json").stdout)["commit"] is None
    assert "pending:   nothing" in env.vs("status").stdout
    (env.vault / ".last_sync").unlink()  # a rebuilt state sees the same
    assert json.loads(env.vs("sync", "--json").stdout)["commit"] is None
    env.vs("verify")
    assert key not in env.vs("diff").stdout
    restored = env.vs("restore", "--at", "HEAD", TRANSCRIPT, "--yes")
    assert "[REDACTED:<kind>] where the source had secrets" in restored.stdout
    assert "[REDACTED:anthropic]" in (home / TRANSCRIPT.partition("/")[2]).read_text()
    assert key not in everything_in_git(env) + out.stdout + out.stderr + restored.stdout
    assert key not in (env.vault / ".vaultsync" / "vaultsync.log").read_text()


def test_redact_vault_wide_and_appends_stay_redacted(env: Env) -> None:
    home = claude_home(env)
    set_policy(env, "redact")
    key = paste_key(home)
    env.vs("sync")
    paste_key(home)  # the same key again, on a new line
    env.vs("sync")
    assert env.git("show", f"HEAD:{TRANSCRIPT}").count("[REDACTED:anthropic]") == 2
    assert key not in everything_in_git(env)
