"""`vaultsync sync`: run one sync (vaultsync.engine) and render its result."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vaultsync import summary
from vaultsync.engine import SyncOptions, sync_once
from vaultsync.result import PushStatus, SyncResult
from vaultsync.vault import Vault

Options = SyncOptions  # the name the CLI and the fast path know

PUSH_WORDS = {
    PushStatus.REJECTED: "the remote has commits this vault lacks (another machine pushed)",
    PushStatus.AUTH: "the remote refused our credentials (check the ssh key or credential helper)",
    PushStatus.NETWORK: "the remote cannot be reached (offline?)",
    PushStatus.TIMEOUT: "the remote did not answer in time",
    PushStatus.NOT_CONFIGURED: "no such git remote",
}


def run(vault: Path, opts: SyncOptions, files: bool = False) -> int:
    result = sync_once(Vault(vault), opts)
    report(result, opts, files)
    return result.exit_code


def report(r: SyncResult, opts: SyncOptions, files: bool = False) -> None:
    """The result on stdout (a summary, or --json); problems on stderr."""
    if r.failure is not None:
        if opts.json_out:
            print(json.dumps(r.to_json(), indent=2))
        print(f"vaultsync: error: {r.failure.message}", file=sys.stderr)
        return
    for line in r.skipped:
        print(f"warning: skipped {line}", file=sys.stderr)
    for line in r.warnings:
        print(f"warning: {line}", file=sys.stderr)
    if opts.json_out:
        print(json.dumps(r.to_json(), indent=2))
    elif not opts.quiet:
        _print_human(r, files)
    for msg in r.held + r.unavailable + r.unbound:
        print(f"warning: {msg}", file=sys.stderr)
    if r.push.failed:
        print(
            "push failed (the commit is kept; the next sync pushes again): "
            f"{PUSH_WORDS.get(r.push.status, str(r.push.status))}: {r.push.message}",
            file=sys.stderr,
        )
    _report_remote(r, opts)
    if not opts.json_out:
        for rej in r.rejected:
            print(f"rejected: {rej.path}: {rej.reason}", file=sys.stderr)
    for f in r.forgotten:
        kept = "committed; history keeps them" if f.path not in rejected(r) else "not committed"
        print(
            f"forgot: {f.path} lost {f.lost} of its {f.before} memories in this sync ({kept})\n"
            f"  to bring them back: {f.restore}",
            file=sys.stderr,
        )


def _report_remote(r: SyncResult, opts: SyncOptions) -> None:
    """Another machine's files taken in, what changed on both sides, a fetch that failed."""
    if r.push.merged and not (opts.quiet or opts.json_out):
        print(
            f"took in another machine's commits ({r.push.merged[:10]}): "
            f"{len(r.push.incoming)} file(s) changed in the vault"
        )
    for c in r.conflicts:
        print(f"conflict: {c.message}" + (f": {c.hint}" if c.hint else ""), file=sys.stderr)
    if r.push.message and not r.push.failed and r.push.status == PushStatus.OK:
        print(f"note: {r.push.message}", file=sys.stderr)


def rejected(r: SyncResult) -> set[str]:
    return {rej.path for rej in r.rejected}


def _print_human(r: SyncResult, files: bool = False) -> None:
    counts = f"+{len(r.added)} ~{len(r.modified)} -{len(r.deleted)}"
    if r.dry_run:
        kinds = [("added", r.added), ("modified", r.modified), ("deleted", r.deleted)]
        changes = sorted(((p, k) for k, paths in kinds for p in paths))
        print(f"would commit {counts}" if changes else "nothing to commit")
        for line in summary.by_source(kinds, dict(r.files_by_source)):
            print(f"  {line}")
        if files or len(changes) <= summary.LIST_UP_TO:
            for path, kind in changes:
                print(f"  {kind:<9}{path}")
        else:
            print(f"  {summary.files_hint(len(changes))}")
    elif r.commit:
        print(f"committed {r.commit[:10]} {counts}")
    else:
        print("nothing changed")
