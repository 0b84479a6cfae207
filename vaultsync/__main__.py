from __future__ import annotations

import sys


def main() -> int:
    from vaultsync.outcome import entry

    return entry(_main)


def _main() -> int:
    if "sync" in sys.argv[1:6]:  # after at most --vault PATH --json --quiet
        # The hot path (cron, git hooks): no typer to import, and git's pass over the
        # sources' indexes starts at once, while the rest of vaultsync is imported.
        from vaultsync.gitindex import prefetch

        prefetch(sys.argv[1:])
        from vaultsync.fastpath import parse_argv

        parsed = parse_argv(sys.argv[1:])
        if parsed is not None:
            from vaultsync.commands import sync
            from vaultsync.outcome import guarded, vault_path

            vault, opts = parsed
            return guarded(lambda: sync.run(vault_path(vault), opts))
    from vaultsync.cli import run

    return run()


if __name__ == "__main__":
    raise SystemExit(main())
