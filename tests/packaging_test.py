"""The wheel is what users install: build it, install it into a fresh virtual
environment and run the installed command against a temp vault."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import SAMPLES, Env

ROOT = Path(__file__).parent.parent


def test_wheel_installs_and_runs(env: Env, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("vaultsync-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "vaultsync/_data/schemas/mcp-knowledge-graph.schema.json" in names
    with zipfile.ZipFile(wheel) as whl:
        for hook in ("post-commit", "post-merge", "pre-commit"):
            # The scripts themselves, byte for byte (not a README beside them).
            packed = whl.read(f"vaultsync/_data/hooks/{hook}")
            assert packed == (ROOT / "hooks" / hook).read_bytes(), hook

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    exe = venv / "bin" / "vaultsync"
    run_env = {**env.env, "PYTHONPATH": ""}  # only what the wheel installed

    def installed(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(exe), *args], env=run_env, cwd=tmp_path, capture_output=True, text=True, check=True
        )

    installed("init")
    installed("track", str(SAMPLES / "mcp" / "memory.jsonl"), "--name", "mcp")
    assert "committed" in installed("sync").stdout
    assert "mcp-knowledge-graph" in installed("schemas").stdout
    # The hooks come from the wheel's copy: installing them works without a checkout.
    installed("hooks", "install")
    vault_hook = env.vault / ".git" / "hooks" / "pre-commit"
    assert "vaultsync-hook: pre-commit" in vault_hook.read_text()
    assert os.access(vault_hook, os.X_OK)
    # ... and it works: a hand-made commit of an invalid memory is refused by it.
    (env.vault / "mcp" / "memory.jsonl").write_text("{not json\n")
    env.git("add", "mcp/memory.jsonl")
    refused = subprocess.run(["git", "commit", "-q", "-m", "bad"], cwd=env.vault, env=run_env,
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "commit refused" in refused.stderr, refused.stderr
    env.git("reset", "-q", "--hard")
    assert (
        env.git("show", "HEAD:mcp/memory.jsonl") == (SAMPLES / "mcp" / "memory.jsonl").read_text()
    )
