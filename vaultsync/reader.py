"""Reading a changed file exactly once, safely: torn reads, vanished files, no permission."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from vaultsync.state import stat_key

MAX_ATTEMPTS = 2


class Unreadable(Exception):
    """The file could not be read as one consistent version; the reason names why."""


@dataclass(frozen=True)
class Snapshot:
    data: bytes
    stat: list[int]
    blob: str


def blob_id(data: bytes) -> str:
    """The git blob id of `data`, as `git hash-object` computes it."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def read_snapshot(path: str | Path) -> Snapshot:
    """Read `path` whole; if it changes while being read, read it once more."""
    for _ in range(MAX_ATTEMPTS):
        try:
            before = os.stat(path)
            with open(path, "rb") as f:
                data = f.read()
                after = os.fstat(f.fileno())
        except FileNotFoundError:
            raise Unreadable("vanished while being read") from None
        except PermissionError:
            raise Unreadable("permission denied (check the file's owner and mode)") from None
        except IsADirectoryError:
            raise Unreadable("became a directory") from None
        except OSError as exc:
            raise Unreadable(f"cannot read: {exc.strerror}") from None
        key = stat_key(after)
        if stat_key(before) == key and len(data) == after.st_size:
            return Snapshot(data, key, blob_id(data))
    raise Unreadable("changing while being read; it will be picked up by the next sync")
