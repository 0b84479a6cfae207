from __future__ import annotations

import sys


def main() -> int:
    if sys.argv[1:2] == ["sync"]:
        # The hot path (cron, git hooks): no typer to import.
        from vaultsync.fastpath import parse_sync

        parsed = parse_sync(sys.argv[2:])
        if parsed is not None:
            from vaultsync.commands import sync
            from vaultsync.outcome import guarded, vault_path

            vault, opts = parsed
            return guarded(lambda: sync.run(vault_path(vault), opts))
    from vaultsync.cli import run

    return run()


if __name__ == "__main__":
    raise SystemExit(main())
