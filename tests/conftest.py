"""Shared fixtures: every test gets its own HOME, vault and git identity, so tests never
touch the user's config, and vaultsync is run as the real command in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.servers import Daemon, start_daemon

SAMPLES = Path(__file__).parent / "fixtures" / "samples"
HOST = "testhost"


@dataclass
class Env:
    root: Path
    home: Path
    vault: Path
    env: dict[str, str] = field(default_factory=dict)

    def vs(
        self,
        *args: str,
        code: int | None = 0,
        prefix: tuple[str, ...] = (),
        input: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run `python -m vaultsync ARGS`; assert the exit code unless `code` is None."""
        proc = subprocess.run(
            [*prefix, sys.executable, "-m", "vaultsync", *args],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
        )
        if code is not None:
            assert proc.returncode == code, (
                f"exit {proc.returncode} != {code}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=cwd or self.vault,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def head_files(self, rev: str = "HEAD") -> dict[str, str]:
        out = self.git("ls-tree", "-r", "--name-only", rev)
        return {p: self.git("show", f"{rev}:{p}") for p in out.splitlines()}

    def commits(self) -> int:
        return int(self.git("rev-list", "--count", "HEAD").strip())

    def records(self, name: str, count: int, content: str = "c") -> Path:
        """A folder of `count` one-memory JSON files under HOME, tracked and synced."""
        folder = self.home / name
        folder.mkdir()
        for i in range(count):
            (folder / f"{i}.json").write_text(json.dumps({"id": str(i), "content": content}))
        self.vs("init")
        self.vs("track", str(folder))
        self.vs("sync")
        return folder

    def memories(self, name: str = "mem") -> Path:
        """A folder of real memory files (copied from the samples) under HOME."""
        target = self.home / name
        shutil.copytree(SAMPLES, target)
        return target


def load_sample(path: Path) -> tuple[Any, str]:
    """A sample as vaultsync reads it: parsed once by schemas.check, with its detected schema."""
    from vaultsync import schemas

    checked = schemas.check(path.read_bytes(), path.name)
    assert checked.problem is None, checked.problem
    return checked.doc, checked.schema


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    home = tmp_path / "home"
    home.mkdir()
    vault = tmp_path / "vault"
    e = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "VAULTSYNC_")) and k != "PYTHONWARNINGS"
    }
    e.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TEMPLATE_DIR="",
        GIT_AUTHOR_NAME="Test Author",
        GIT_AUTHOR_EMAIL="author@example.invalid",
        GIT_COMMITTER_NAME="Test Committer",
        GIT_COMMITTER_EMAIL="committer@example.invalid",
        VAULTSYNC_VAULT=str(vault),
        VAULTSYNC_HOST=HOST,
        PYTHONPATH=str(Path(__file__).parent.parent),
    )
    yield Env(tmp_path, home, vault, e)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A `git daemon` on 127.0.0.1 serving one empty bare repository, pushes allowed."""
    d = start_daemon(tmp_path)
    yield d
    d.stop()


@pytest.fixture
def synced(env: Env) -> Env:
    """A vault tracking the sample memories, synced once."""
    env.memories()
    env.vs("init")
    env.vs("track", str(env.home / "mem"))
    env.vs("sync")
    return env
