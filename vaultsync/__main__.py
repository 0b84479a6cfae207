from __future__ import annotations


def main() -> int:
    # Imported here so `python -m vaultsync` and the console script share one entry point.
    from vaultsync.cli import run

    return run()


if __name__ == "__main__":
    raise SystemExit(main())
