"""vaultsync.toml that cannot be read as settings: a clear error naming it, exit 2."""

from __future__ import annotations

from tests.conftest import Env


def test_a_config_nested_too_deeply_is_a_config_error(synced: Env) -> None:
    # Found by scripts/torture: tomllib's RecursionError made every command exit 70.
    cfg = synced.vault / "vaultsync.toml"
    good = cfg.read_bytes()
    cfg.write_bytes(b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n")
    err = synced.vs("sync", code=2).stderr
    assert "vaultsync.toml" in err and "nested too deeply" in err
    cfg.write_bytes(good)
    synced.vs("sync")
