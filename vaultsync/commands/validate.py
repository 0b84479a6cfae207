"""`vaultsync validate FILE...`: check files against the memory schemas.

Used by hand, by the vault's pre-commit hook and by the pre-commit framework, so
the verdict is the exit code (0: all valid, 1: some invalid) and each file gets
one line a person can act on.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from vaultsync import schemas
from vaultsync.errors import EXIT_OK, EXIT_PARTIAL, ConfigError


@dataclass(frozen=True)
class Verdict:
    path: str
    schema: str
    valid: bool
    problem: str | None


def run(
    files: list[Path], schema: str = "auto", *, json_out: bool = False, quiet: bool = False
) -> int:
    """Check every file; a schema that cannot be used is a ConfigError (exit 2), before any file."""
    schemas.ensure_schema(schema)
    verdicts = [check_file(path, schema) for path in files]
    if json_out:
        json.dump([asdict(v) for v in verdicts], sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        for v in verdicts:
            if not v.valid:
                print(f"invalid  {v.path}: {v.problem}")
            elif not quiet:
                print(f"ok  {v.path} ({v.schema})")
    return EXIT_OK if all(v.valid for v in verdicts) else EXIT_PARTIAL


def check_file(path: Path, schema: str = "auto") -> Verdict:
    try:
        # Never open what is not a regular file: reading a FIFO waits for a writer forever.
        if not stat.S_ISREG(mode := os.stat(path).st_mode):
            return Verdict(str(path), schema, False, f"not a regular file ({_kind(mode)})")
        data = path.read_bytes()
    except OSError as exc:
        # A missing file is a verdict, not a crash: a hook may pass a path deleted since.
        return Verdict(str(path), schema, False, f"cannot read: {exc.strerror or exc}")
    if path.suffix == ".toml" and schema in ("auto", "vaultsync-config"):
        return _check_config_file(path, data)
    checked = schemas.check(data, path.name, schema, tree=False)  # the verdict alone
    problem = str(checked.problem) if checked.problem else None
    return Verdict(str(path), checked.schema, checked.problem is None, problem)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    return "a socket" if stat.S_ISSOCK(mode) else "a device"


def _check_config_file(path: Path, data: bytes) -> Verdict:
    """vaultsync.toml is TOML: the vault's pre-commit hook passes it along with the memories."""
    import tomllib

    try:
        schemas.check_config(tomllib.loads(data.decode("utf-8")), origin="vaultsync-config")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return Verdict(str(path), "vaultsync-config", False, f"not valid TOML: {exc}")
    except ConfigError as exc:
        return Verdict(str(path), "vaultsync-config", False, exc.message)
    return Verdict(str(path), "vaultsync-config", True, None)
