from __future__ import annotations

import os
from pathlib import Path

from vaultsync.fsutil import atomic_write


def test_atomic_write_creates_0600_and_keeps_existing_mode(tmp_path: Path) -> None:
    new = tmp_path / "new.json"
    atomic_write(new, b"{}")
    assert new.read_bytes() == b"{}"
    assert os.stat(new).st_mode & 0o777 == 0o600
    shared = tmp_path / "shared.json"
    shared.write_bytes(b"old")
    shared.chmod(0o644)
    atomic_write(shared, b"new")
    assert shared.read_bytes() == b"new"
    assert os.stat(shared).st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.json", "shared.json"]


def test_atomic_write_replaces_the_inode_not_the_content(tmp_path: Path) -> None:
    f = tmp_path / "m.json"
    f.write_bytes(b"old")
    reader = open(f, "rb")  # a reader holding the old file keeps seeing it whole
    atomic_write(f, b"new content")
    assert reader.read() == b"old"
    reader.close()
    assert f.read_bytes() == b"new content"


def test_atomic_write_takes_chunks_as_they_come(tmp_path: Path) -> None:
    f = tmp_path / "state.json"
    atomic_write(f, (part.encode() for part in ["{", '"a":', "1", "}"]))
    assert f.read_bytes() == b'{"a":1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
