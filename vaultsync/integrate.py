"""Several machines, one vault: push, and when another machine pushed first, fetch,
integrate and push again (bounded, never forced).

Integration is a merge commit made with plumbing, file by file, under the vault lock
(the engine holds it): the merged tree is ours, with theirs' version of every path only
they changed. A path changed on both sides keeps ours (this machine's file is the
current one; theirs stays in history as the merge's second parent) and is reported;
`vaultsync.toml` is merged as data (vaultsync.configmerge). Their files are written into
the vault's work tree and index, never into the sources (a source belongs to its
machine), and the state follows the new HEAD so the next sync commits nothing spurious.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from vaultsync import __version__, config, configmerge, state
from vaultsync.clock import iso_z, utc_now
from vaultsync.config import Config
from vaultsync.gitvault import ZERO_OID, GitVault, Ident, data_of
from vaultsync.result import Conflict, ConflictKind, PushResult, PushStatus
from vaultsync.vault import Vault

MAX_ROUNDS = 3  # push, fetch + merge, push again: a third machine may win each race
_NOT_SHARED = (state.STATE_NAME, ".vaultsync/")  # never taken from another machine
_NON_FAST_FORWARD = ("non-fast-forward", "fetch first", "[rejected]")


def has_password(url: str) -> bool:
    return "://" in url and urlsplit(url).password is not None


def password_hint(remote: str, root: Path) -> str:
    return (
        "vaultsync never stores credentials: keep the password in a git credential helper "
        f"(`git config --global credential.helper store`) or use an ssh key, and remove it "
        f"from the URL (`git -C {root} remote set-url {remote} URL`)"
    )


def push(vault: Vault, cfg: Config) -> PushResult:
    """Bring the remote and this vault together: push what it lacks; when another machine
    pushed first, take its commits in and push again. Nothing to push: fetch, so this
    machine sees the others' files (a failed fetch then is a note, not a failed push)."""
    assert cfg.remote is not None
    gv, remote = vault.git, cfg.remote
    url = gv.remote_url(remote) or ""
    if has_password(url):
        return PushResult(
            PushStatus.ERROR,
            f"the URL of remote {remote!r} holds a password; " + password_hint(remote, vault.root),
        )
    deadline = time.monotonic() + cfg.push_timeout_s  # one budget for every round trip
    taken = Taken()
    if not gv.needs_push(remote, cfg.branch):
        fetched = gv.fetch(remote, cfg.branch, _left(deadline))
        if fetched.failed:
            return PushResult(PushStatus.OK, f"could not fetch from {remote!r}: {fetched.message}")
        integrate(vault, cfg, taken)
        return taken.into(PushResult(PushStatus.OK), cfg)
    for _ in range(MAX_ROUNDS):
        pushed = gv.push(remote, cfg.branch, _left(deadline))
        if pushed.status != PushStatus.REJECTED or not _non_ff(pushed.message):
            return taken.into(pushed, cfg)
        fetched = gv.fetch(remote, cfg.branch, _left(deadline))
        if fetched.failed:
            return taken.into(fetched, cfg)
        if not integrate(vault, cfg, taken):
            # Nothing of theirs to take in: rejected for another reason.
            return taken.into(pushed, cfg)
    return taken.into(
        PushResult(
            PushStatus.REJECTED,
            f"other machines kept pushing first ({MAX_ROUNDS} rounds of fetch and merge); "
            "the commits are kept and the next sync tries again",
        ),
        cfg,
    )


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.5)


def _non_ff(message: str) -> bool:
    return any(n in message for n in _NON_FAST_FORWARD)


@dataclass
class Taken:
    """What the integrations of one sync took in."""

    merged: str | None = None
    incoming: list[str] = dataclasses.field(default_factory=list)
    conflicts: list[Conflict] = dataclasses.field(default_factory=list)

    def into(self, result: PushResult, cfg: Config) -> PushResult:
        if result.status == PushStatus.TIMEOUT:  # said with the setting, not what was left
            result = dataclasses.replace(
                result,
                message=f"no answer from {cfg.remote!r} within {cfg.push_timeout_s:g} s "
                "(push_timeout)",
            )
        return dataclasses.replace(
            result,
            merged=self.merged,
            incoming=tuple(sorted(set(self.incoming))),
            conflicts=tuple(self.conflicts),
        )


@dataclass(frozen=True)
class Diff:
    path: str
    ours: str | None  # blob id, None: absent
    theirs: str | None


def integrate(vault: Vault, cfg: Config, taken: Taken) -> bool:
    """Take the fetched remote branch into HEAD; False when it has nothing we lack."""
    gv = vault.git
    assert cfg.remote is not None
    theirs = gv.resolve(f"refs/remotes/{cfg.remote}/{cfg.branch}")
    ours = gv.head()
    if theirs is None or ours is None or theirs == ours or _is_ancestor(gv, theirs, ours):
        return False
    if _is_ancestor(gv, ours, theirs):
        gv.run("update-ref", "-m", "vaultsync: fast-forward", gv.head_ref(), theirs, ours)
        new = theirs
    else:
        new = _merge(vault, cfg, ours, theirs, taken)
    changed = diff(gv, ours, new)
    checkout(gv, changed)
    for d in follow(vault.root, ours, new, changed):
        message = (
            f"{d.path}: the vault now has another machine's version; this machine's "
            "file was left as it is"
        )
        hint = _hint(vault, cfg, d.path, d.theirs, new)
        taken.conflicts.append(Conflict(ConflictKind.THEIRS_IN_VAULT, d.path, new, message, hint))
    vault.reload()
    taken.merged = new
    taken.incoming += [d.path for d in changed]
    return True


def _is_ancestor(gv: GitVault, a: str, b: str) -> bool:
    return gv.returncode("merge-base", "--is-ancestor", a, b) == 0


def diff(gv: GitVault, a: str, b: str) -> list[Diff]:
    """Every file that differs between two commits, with its blob on each side."""
    out = gv.run("diff-tree", "-r", "-z", "--no-renames", a, b).split(b"\0")
    found = []
    for meta, path in zip(out[0::2], out[1::2], strict=False):
        if not meta.startswith(b":"):
            continue
        _, _, old, new, _ = meta[1:].decode().split(" ")
        vp = path.decode("utf-8", "surrogateescape")
        found.append(Diff(vp, None if old == ZERO_OID else old, None if new == ZERO_OID else new))
    return found


def _merge(vault: Vault, cfg: Config, ours: str, theirs: str, taken: Taken) -> str:
    gv = vault.git
    bases = gv.run("merge-base", "--all", ours, theirs, check=False).decode().split()
    diffs = [d for d in diff(gv, ours, theirs) if not d.path.startswith(_NOT_SHARED)]
    at_bases = _blobs_at(gv, bases, [d.path for d in diffs])
    files: list[tuple[str, str | None]] = []
    notes: list[str] = []
    toml_text: bytes | None = None
    for d in diffs:
        base = [b.get(d.path) for b in at_bases] or [None]
        if d.path == config.CONFIG_NAME:
            merged = _merge_config(gv, d, base)
            notes += merged.conflicts
            taken.conflicts += [
                Conflict(ConflictKind.CONFIG, d.path, theirs, f"{d.path}: {n}")
                for n in merged.conflicts
            ]
            toml_text = merged.text
        elif d.ours == d.theirs or d.theirs in base:
            continue  # only we changed it
        elif d.ours in base:
            files.append((d.path, d.theirs))  # only they changed it
        else:
            message = (
                f"{d.path} changed here and on another machine; kept this machine's "
                f"version, theirs is in {theirs[:10]}"
            )
            hint = _hint(vault, cfg, d.path, d.ours, theirs)
            taken.conflicts.append(
                Conflict(ConflictKind.BOTH_CHANGED, d.path, theirs, message, hint)
            )
            notes.append(f"{d.path}: changed on both machines; kept this machine's version")
    host = vault.host
    message = _message(gv, ours, theirs, files, notes, host)
    writer = gv.writer()
    try:
        if toml_text is not None:
            files.append((config.CONFIG_NAME, writer.blob(toml_text)))
        writer.commit(
            gv.head_ref(), ours, message, utc_now(), Ident.for_host(host), files, merges=[theirs]
        )
        writer.close()
    except BaseException:
        writer.abort()
        raise
    new = gv.head()
    assert new is not None
    return new


def _merge_config(gv: GitVault, d: Diff, base: list[str | None]) -> configmerge.Merged:
    names = [b for b in base if b is not None]
    keys = [f"base{i}" for i in range(len(names))]
    wanted = [d.ours or "", d.theirs or "", *names]
    blobs = gv.read_objects(wanted, ["ours", "theirs", *keys])
    if "ours" not in blobs or "theirs" not in blobs:
        return configmerge.Merged(blobs.get("ours", b""), [])
    bases: list[bytes | None] = [blobs.get(k) for k in keys] or [None]
    return configmerge.merge(bases, blobs["ours"], blobs["theirs"])


def _blobs_at(gv: GitVault, revs: Sequence[str], paths: Sequence[str]) -> list[dict[str, str]]:
    """Per rev: path -> blob id, for the paths that exist there (one cat-file for all)."""
    usable = [p for p in paths if "\n" not in p]  # --batch-check reads one name a line
    if not revs or not usable:
        return [{} for _ in revs]
    names = [f"{rev}:{p}" for rev in revs for p in usable]
    out = gv.run("cat-file", "--batch-check=%(objectname)", input=data_lines(names))
    ids = out.decode().splitlines()
    found: list[dict[str, str]] = []
    for i, _rev in enumerate(revs):
        row = ids[i * len(usable) : (i + 1) * len(usable)]
        found.append({p: oid for p, oid in zip(usable, row, strict=True) if " " not in oid})
    return found


def data_lines(names: Sequence[str]) -> bytes:
    return "".join(f"{n}\n" for n in names).encode("utf-8", "surrogateescape")


def _hint(vault: Vault, cfg: Config, vp: str, ours: str | None, rev: str) -> str:
    """What to do about a file the machines disagree on: merge the memories of `rev`'s
    version into this machine's file where the format has identity, else compare."""
    from vaultsync import memories, schemas

    at = rev[:12]
    data = vault.git.read_objects([ours], ["ours"]).get("ours") if ours else None
    if data is not None and cfg.disk_path_of(vp) is not None:
        checked = schemas.check(data, vp, cfg.schema_for(vp), vault_root=vault.root)
        if checked.problem is None and memories.mergeable(checked.schema):
            return (
                f"to add their memories to this machine's file, run "
                f"`vaultsync restore --at {at} --merge {vp}`"
            )
    return f"compare the two with `vaultsync diff {vp} --from {at}`"


def _message(
    gv: GitVault,
    ours: str,
    theirs: str,
    files: list[tuple[str, str | None]],
    notes: list[str],
    host: str,
) -> str:
    fmt = "--format=%(trailers:key=Vaultsync-Host,valueonly)"
    out = gv.run("log", fmt, f"{ours}..{theirs}", check=False).decode()
    hosts = sorted({h.strip() for h in out.splitlines() if h.strip()}) or ["another machine"]
    counts = f"+{sum(1 for _, b in files if b)} -{sum(1 for _, b in files if b is None)}"
    body = [f"{vp}: from {', '.join(hosts)}" for vp, _ in sorted(files)] + notes
    trailers = f"Vaultsync-Host: {host}\nVaultsync-Version: {__version__}"
    subject = f"vaultsync: {iso_z(utc_now())} merge from {', '.join(hosts)} {counts}"
    return f"{subject}\n\n" + "\n".join(body or ["vaultsync.toml merged"]) + f"\n\n{trailers}\n"


def checkout(gv: GitVault, changed: Sequence[Diff]) -> None:
    """The index and the work tree follow HEAD for exactly these paths (the rest of a
    100k-file index is not rewritten)."""
    if not changed:
        return
    gv.clear_stale_lock(gv.git_dir / "index.lock")
    info = b"".join(
        f"{'100644' if d.theirs else '0'} {d.theirs or ZERO_OID}\t".encode()
        + d.path.encode("utf-8", "surrogateescape")
        + b"\0"
        for d in changed
    )
    gv.run("update-index", "-z", "--index-info", input=info)
    present = [d.path for d in changed if d.theirs]
    if present:
        gv.run("checkout-index", "-f", "-z", "--stdin", input=data_of(present))
    for d in changed:
        if d.theirs is None:
            _remove(gv.root, d.path)


def _remove(root: Path, vp: str) -> None:
    target = root / vp
    target.unlink(missing_ok=True)
    folder = target.parent
    while folder != root:
        try:
            folder.rmdir()
        except OSError:
            break
        folder = folder.parent


def follow(root: Path, old: str, new: str, changed: Sequence[Diff]) -> list[Diff]:
    """The state moves to the new HEAD. A file another machine changed in a source this
    machine also syncs (`--any-host`) keeps this machine's stat with their blob: it is
    not a change here until it changes on this disk (else the next sync would put the
    old version back). Returns those files: this machine's copy now differs."""
    st = state.load(root)
    if st is None or st.head != old:
        return []  # rebuilt, or followed by plan.load_state on the next run
    differ = []
    for d in changed:
        if d.path == config.CONFIG_NAME:
            st.config_blob = d.theirs
        elif (entry := st.entry(d.path)) is not None:
            if d.theirs is None:
                st.drop(d.path)
            else:
                st.superseded.setdefault(d.path, entry.blob)
                st.put(d.path, entry._replace(blob=d.theirs))
                differ.append(d)
    st.head = new
    state.save(root, st)
    return differ
