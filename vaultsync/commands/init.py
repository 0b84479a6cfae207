"""`vaultsync init`: create the vault (idempotent)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from vaultsync import config
from vaultsync.errors import EXIT_OK, GitError, UsageError
from vaultsync.fsutil import not_a_folder
from vaultsync.gitvault import CLONING, GitVault

GITIGNORE = ".last_sync\n.vaultsync/\n*.vaultsync-tmp\n"
# Only its owner may read the vault: git's packs are 0444, the folder's mode protects them.
VAULT_MODE = 0o700


def run(vault: Path, remote: str | None = None, quiet: bool = False) -> int:
    if remote is not None:
        check_remote_url(remote)
    _refuse_not_a_folder(vault)
    gv = GitVault(vault)
    created = not gv.is_repo()
    if created:
        if vault.exists() and any(vault.iterdir()):
            raise UsageError(
                f"{vault} exists and is not empty", hint="choose an empty folder for the vault"
            )
        vault.mkdir(parents=True, exist_ok=True, mode=VAULT_MODE)
        gv = GitVault.init(vault, "main")
    else:
        _refuse_plain_repo(vault, gv)
        gv.apply_settings()  # re-running init repairs the durability settings
    os.chmod(vault, VAULT_MODE)  # and tightens a vault made before it was 0700
    wrote = _write_missing(vault)
    if remote is not None and _set_origin(vault, gv, remote):
        wrote.append(config.CONFIG_NAME)
    if wrote:
        gv.commit_paths(
            wrote, "initialise vault" if created else "update vault settings", config.this_host()
        )
    if not quiet:
        verb = "created" if created else "vault already exists:"
        print(f"{verb} {vault}")
        if created:
            print("next: vaultsync track PATH   (then: vaultsync sync)")
    return EXIT_OK


def _refuse_not_a_folder(vault: Path) -> None:
    if (path := not_a_folder([vault, *vault.parents])) is not None:
        raise UsageError(
            f"{path} is a file, not a folder: the vault must be a folder",
            hint="choose another path with --vault (a new or empty folder)",
        )


def _refuse_plain_repo(vault: Path, gv: GitVault) -> None:
    """An ordinary git repository is not turned into a vault (vaultsync.toml committed
    into someone's project)."""
    if (vault / config.CONFIG_NAME).exists() or gv.blob_at(gv.head(), config.CONFIG_NAME):
        return
    raise UsageError(
        f"{vault} is a git repository but not a vaultsync vault (it has no "
        f"{config.CONFIG_NAME}); init leaves it alone",
        hint="choose a new or empty folder with --vault",
    )


def _set_origin(vault: Path, gv: GitVault, url: str) -> bool:
    """Point `origin` at `url`; True when vaultsync.toml changed. An origin that points
    elsewhere is never changed quietly."""
    current = gv.remote_url("origin")
    if current is not None and current != url:
        raise UsageError(
            f"the vault's remote 'origin' is {current}, not {url}; nothing was changed",
            hint=f"to change it: git -C {vault} remote set-url origin {url}",
        )
    if current is None:
        gv.add_remote("origin", url)
    if config.load(vault).remote == "origin":
        return False
    config.set_remote(vault, "origin")
    return True


def run_from(vault: Path, source: str, quiet: bool = False) -> int:
    """Clone an existing vault (a URL, a path, or a bundle file) for disaster recovery.
    A failed clone leaves nothing behind, so the retry starts clean."""
    check_remote_url(source)
    _refuse_not_a_folder(vault)
    existed = vault.exists()
    if existed and any(vault.iterdir()):
        if not _unfinished_clone(vault):
            raise UsageError(f"{vault} exists and is not empty", hint="clone into an empty folder")
        _undo(vault, existed)  # an earlier clone's leftover: killed, or its clean-up failed
    local = Path(source).expanduser()
    bundle = local.is_file()
    origin = str(local.resolve()) if local.exists() else source
    try:
        # Made 0700 before git writes a pack into it.
        vault.mkdir(parents=True, exist_ok=True, mode=VAULT_MODE)
        os.chmod(vault, VAULT_MODE)
        gv = GitVault.clone(origin, vault)
        _check_out_vault_branch(gv, source)
        _write_missing(vault)
        cfg = config.load(vault)
        if bundle:
            _forget_bundle(vault, gv, cfg)
        gv.run("config", "--unset", CLONING)  # last: from here on it is a vault
    except BaseException:
        _undo(vault, existed)
        raise
    if not quiet:
        print(f"cloned {source} into {vault} ({len(cfg.sources)} source(s))")
        _print_next(cfg)
        if bundle:
            print("      vaultsync init --remote URL   (a bundle is no remote: push somewhere)")
    return EXIT_OK


def _print_next(cfg: config.Config) -> None:
    """What to do next: a second machine tracks its own folders (the other machines'
    sources stay theirs); only a machine that replaces a lost one adopts them."""
    host = config.this_host()
    other = [s for s in cfg.sources if not s.on_this_host(host)]
    if len(other) < len(cfg.sources) or not other:
        print("next: vaultsync restore --at HEAD --yes   (puts every tracked file back)")
    if other:
        owners = ", ".join(f"{s.name} ({s.host})" for s in other)
        print(f"the other machines' sources stay theirs: {owners}")
        print("a second machine? track this machine's own folders: vaultsync track PATH")
        names = " ".join(s.name for s in other)
        print(
            f"replacing a lost machine? vaultsync adopt {names}   "
            "then: vaultsync restore --at HEAD --yes"
        )


def _check_out_vault_branch(gv: GitVault, source: str) -> None:
    """The branch the vault's history is on, whatever the remote's HEAD names (a bare
    repository made by `git init --bare` says master; its HEAD may even dangle)."""
    checked_out = (gv.root / config.CONFIG_NAME).is_file()
    if checked_out and _config_branch(gv, "HEAD") == _current_branch(gv):
        return
    out = gv.run("for-each-ref", "--format=%(refname:lstrip=3)", "refs/remotes/origin")
    branches = [b for b in out.decode().split() if b != "HEAD"]
    fits = [b for b in branches if _config_branch(gv, f"origin/{b}") == b]
    if not fits:
        if checked_out:
            return  # a vault whose config names another branch: take it as it is
        raise UsageError(
            f"{source} is a git repository but not a vaultsync vault "
            f"(no branch has a {config.CONFIG_NAME})"
        )
    if len(fits) > 1 and "main" not in fits:
        raise UsageError(
            f"{source} holds vaults on several branches ({', '.join(fits)})",
            hint="clone the one you want with git, then run `vaultsync init` in it",
        )
    branch = "main" if "main" in fits else fits[0]
    gv.run("checkout", "-q", "-B", branch, "--track", f"origin/{branch}")


def _config_branch(gv: GitVault, rev: str) -> str | None:
    """vault.branch of the vaultsync.toml at `rev` (None: none there, or unreadable)."""
    import tomllib

    raw = gv.run("show", f"{rev}:{config.CONFIG_NAME}", check=False)
    try:
        doc = tomllib.loads(raw.decode("utf-8")) if raw else None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    return None if doc is None else str(doc.get("vault", {}).get("branch", "main"))


def _current_branch(gv: GitVault) -> str:
    return gv.run("symbolic-ref", "-q", "--short", "HEAD", check=False).decode().strip()


def _forget_bundle(vault: Path, gv: GitVault, cfg: config.Config) -> None:
    """A clone of a bundle has nothing to push to: no `origin` pointing at the file, and
    no vault.remote in this clone's config."""
    # What was kept aside (the rejected ref) is in the bundle too (vaultsync bundle).
    gv.run("fetch", "--quiet", "origin", "+refs/vaultsync/*:refs/vaultsync/*", check=False)
    gv.run("remote", "remove", "origin", check=False)
    if cfg.remote is not None:
        config.set_remote(vault, None)
        gv.commit_paths([config.CONFIG_NAME], "cloned from a bundle: no remote", config.this_host())


def _unfinished_clone(vault: Path) -> bool:
    """Whether `vault` is a clone `init --from` began and never finished (killed, or
    failed with its clean-up failing too, as on a disk failing every other open) that
    holds nothing of its own: no commit beyond what it cloned (a sync run into it
    would make one), so clearing it for the retry loses nothing."""
    gv = GitVault(vault)
    if not gv.is_repo() or gv.config_get(CLONING) != "true":
        return False
    try:
        own = gv.run("rev-list", "--all", "--not", "--remotes")
    except GitError:
        return False
    return not own.strip()


def _undo(vault: Path, existed: bool) -> None:
    if not existed:
        shutil.rmtree(vault, ignore_errors=True)
        return
    for entry in os.scandir(vault):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)


def check_remote_url(url: str) -> None:
    from vaultsync.integrate import has_password

    if has_password(url):
        raise UsageError(
            "the remote URL holds a password; vaultsync never stores credentials",
            hint="use an ssh key or a git credential helper, and a URL without the password",
        )


def _write_missing(vault: Path) -> list[str]:
    from vaultsync.fsutil import atomic_write

    wrote = []
    for name, text in ((config.CONFIG_NAME, config.CONFIG_TEMPLATE), (".gitignore", GITIGNORE)):
        path = vault / name
        if not path.exists():
            atomic_write(path, text.encode(), mode=0o644)
            wrote.append(name)
    return wrote
