"""`vaultsync bundle --output FILE`: the whole vault as one verified `git bundle`, for
a USB disk or object storage; `vaultsync init --from FILE` restores from it.

The bundle holds every branch, tag and vaultsync's own refs (the rejected ref keeps
content no sync committed), and HEAD so a clone checks out the vault. It is written
next to FILE, checked with `git bundle verify`, fsynced and renamed into place: FILE
is the previous good bundle or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from vaultsync import gitrun
from vaultsync.errors import EXIT_OK, UsageError, VaultsyncError
from vaultsync.fsutil import fsync_dir
from vaultsync.gitvault import REJECTED_REF
from vaultsync.vault import Vault

BUNDLE_SIGNATURES = (b"# v2 git bundle\n", b"# v3 git bundle\n")


def is_bundle(path: Path) -> bool:
    """Whether `path` is a git bundle file (what `init --from` must not push into)."""
    try:
        with path.open("rb") as f:
            return f.read(16) in BUNDLE_SIGNATURES
    except OSError:
        return False


def run(vault_root: Path, output: Path, json_out: bool = False, quiet: bool = False) -> int:
    vault = Vault.open(vault_root)
    gv = vault.git
    if gv.head() is None:
        raise UsageError("the vault has no commit yet", hint="run `vaultsync sync` first")
    if output.is_dir():
        raise UsageError(f"{output} is a folder", hint="name the bundle file, e.g. vault.bundle")
    if not output.parent.is_dir():
        raise UsageError(f"{output.parent} does not exist", hint="create the folder first")
    refs = ["HEAD", "--branches", "--tags"]
    if gv.resolve(REJECTED_REF):
        refs.append(REJECTED_REF)
    tmp = output.with_name(f".{output.name}.vaultsync-tmp")
    try:
        gitrun.run(["bundle", "create", "--quiet", str(tmp), *refs], vault.root)
        verify = gitrun.run(["bundle", "verify", "--quiet", str(tmp)], vault.root, check=False)
        if verify.returncode != 0:
            detail = verify.stderr.decode("utf-8", "replace").strip()
            raise VaultsyncError(f"the new bundle does not verify: {detail}")
        listed = gitrun.output(["bundle", "list-heads", str(tmp)], vault.root).decode()
        os.chmod(tmp, 0o600)  # the vault's memories: for this user only
        _fsync(tmp)
        os.replace(tmp, output)
        fsync_dir(output.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    heads = [line.split(" ", 1)[1] for line in listed.splitlines() if " " in line]
    counted = gitrun.output(["rev-list", "--count", *refs], vault.root)
    commits = int(counted.decode().strip())
    doc = {
        "output": str(output),
        "bytes": output.stat().st_size,
        "refs": heads,
        "commits": commits,
        "verified": True,
    }
    if json_out:
        print(json.dumps(doc, indent=2))
    elif not quiet:
        print(
            f"wrote {output} ({doc['bytes']} bytes, {commits} commits, {len(heads)} refs), verified"
        )
        print(f"restore on any machine: vaultsync init --from {output}")
    return EXIT_OK


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
