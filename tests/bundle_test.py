"""`vaultsync bundle` and `init --from FILE.bundle`: an offsite copy and a restore."""

from __future__ import annotations

import json
import subprocess

from tests.conftest import Env
from tests.servers import Daemon


def test_bundle_holds_every_ref_and_init_from_restores_it(env: Env) -> None:
    env.memories()
    env.vs("init")
    env.vs("track", str(env.home / "mem"))
    (env.home / "mem" / "broken.json").write_text("{")  # kept aside on the rejected ref
    env.vs("sync", code=1)
    out = env.root / "offsite" / "vault.bundle"
    out.parent.mkdir()
    doc = json.loads(env.vs("bundle", "--output", str(out), "--json").stdout)
    assert doc["verified"] is True and doc["commits"] >= 3
    assert {"refs/heads/main", "refs/vaultsync/rejected"} <= set(doc["refs"])
    assert out.stat().st_mode & 0o077 == 0  # the memories are this user's only
    assert [p.name for p in out.parent.iterdir()] == ["vault.bundle"]  # no temp file left
    subprocess.run(["git", "bundle", "verify", "-q", str(out)], cwd=env.vault, check=True)

    restored = Env(env.root, env.home, env.root / "restored", dict(env.env))
    restored.env["VAULTSYNC_VAULT"] = str(restored.vault)
    restored.vs("init", "--from", str(out))
    assert restored.head_files() == env.head_files()
    assert restored.git("rev-parse", "refs/vaultsync/rejected") == env.git(
        "rev-parse", "refs/vaultsync/rejected"
    )
    assert restored.git("remote").strip() == ""  # the bundle is not a remote
    (env.home / "mem" / "broken.json").unlink()
    restored.vs("sync")  # no remote in the config: nothing to push, exit 0
    restored.vs("verify")


def test_a_vault_restored_from_a_bundle_does_not_push_into_it(env: Env, daemon: Daemon) -> None:
    env.memories()
    env.vs("init", "--remote", daemon.url)
    env.vs("track", str(env.home / "mem"))
    env.vs("sync")
    out = env.root / "vault.bundle"
    env.vs("bundle", "--output", str(out))
    before = out.read_bytes()
    (env.home / "mem" / "new.json").write_text(json.dumps({"id": "n", "content": "c"}))
    env.vs("sync")
    env.vs("bundle", "--output", str(out))  # replaced with the newer vault
    assert out.read_bytes() != before

    restored = Env(env.root, env.home, env.root / "restored", dict(env.env))
    restored.env["VAULTSYNC_VAULT"] = str(restored.vault)
    said = restored.vs("init", "--from", str(out)).stdout
    assert "vaultsync init --remote URL" in said
    (env.home / "mem" / "newer.json").write_text(json.dumps({"id": "m", "content": "c"}))
    bundle = out.read_bytes()
    doc = json.loads(restored.vs("sync", "--json").stdout)
    assert doc["push"]["status"] == "skipped" and doc["commit"] is not None
    assert out.read_bytes() == bundle  # never pushed into
    restored.vs("init", "--remote", daemon.url)
    assert json.loads(restored.vs("sync", "--json").stdout)["pushed"] is True
    # The first vault takes that in and keeps its remote: it still pushes.
    assert json.loads(env.vs("sync", "--json").stdout)["pushed"] is True
    assert 'remote = "origin"' in env.git("show", "HEAD:vaultsync.toml")


def test_bundle_wants_a_file_name_and_says_how(env: Env) -> None:
    env.vs("init")
    env.vs("bundle", "--output", str(env.root), code=2)
    help_text = env.vs("bundle", "--help").stdout
    assert "Example: vaultsync bundle --output" in help_text
