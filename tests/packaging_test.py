"""The wheel is what users install: build it, install it into a fresh virtual
environment and run the installed command against a temp vault."""

from __future__ import annotations

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
    for hook in ("post-commit", "post-merge", "pre-commit"):
        assert f"vaultsync/_data/hooks/{hook}" in names, f"the wheel lacks the {hook} hook"

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
    assert "vaultsync-hook: pre-commit" in (env.vault / ".git" / "hooks" / "pre-commit").read_text()
    assert (
        env.git("show", "HEAD:mcp/memory.jsonl") == (SAMPLES / "mcp" / "memory.jsonl").read_text()
    )
