"""`vaultsync init`: create the vault (idempotent)."""

from __future__ import annotations

from pathlib import Path

from vaultsync import config
from vaultsync.errors import EXIT_OK, UsageError
from vaultsync.gitvault import GitVault

GITIGNORE = ".last_sync\n.vaultsync/\n*.vaultsync-tmp\n"


def run(vault: Path, remote: str | None = None, quiet: bool = False) -> int:
    if remote is not None:
        check_remote_url(remote)
    gv = GitVault(vault)
    created = not gv.is_repo()
    if created:
        if vault.exists() and any(vault.iterdir()):
            raise UsageError(
                f"{vault} exists and is not empty", hint="choose an empty folder for the vault"
            )
        gv = GitVault.init(vault, "main")
    else:
        gv.apply_settings()  # re-running init repairs the durability settings
    wrote = _write_missing(vault)
    if remote is not None:
        gv.add_remote("origin", remote)
        config.set_remote(vault, "origin")
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


def run_from(vault: Path, source: str, quiet: bool = False) -> int:
    """Clone an existing vault (a URL, a path, or a bundle file) for disaster recovery."""
    check_remote_url(source)
    if vault.exists() and any(vault.iterdir()):
        raise UsageError(f"{vault} exists and is not empty", hint="clone into an empty folder")
    local = Path(source).expanduser()
    origin = str(local.resolve()) if local.exists() else source
    gv = GitVault.clone(origin, vault)
    from vaultsync.commands.bundle import is_bundle

    from_bundle = local.is_file() and is_bundle(local)
    if from_bundle:
        # The content kept aside (the rejected ref) is in the bundle too; and a bundle
        # is a file to restore from, not a remote: no sync pushes into it.
        gv.run("fetch", "--quiet", origin, "+refs/vaultsync/*:refs/vaultsync/*", check=False)
        gv.run("remote", "remove", "origin")
    if not (vault / config.CONFIG_NAME).is_file():
        raise UsageError(
            f"{source} is a git repository but not a vaultsync vault "
            f"(it has no {config.CONFIG_NAME})"
        )
    _write_missing(vault)
    cfg = config.load(vault)
    if not quiet:
        print(f"cloned {source} into {vault} ({len(cfg.sources)} source(s))")
        if from_bundle and cfg.remote:
            print(
                f"the vault pushed to a remote {cfg.remote!r}: to push again, "
                f"git -C {vault} remote add {cfg.remote} URL"
            )
        _print_next(cfg)
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
