"""`.vaultsync/metrics.prom` in the Prometheus textfile format, after every sync (an
engine observer), and into `metrics_dir` for node_exporter's textfile collector.

prometheus_client renders the file, but importing it costs about as much as a whole
no-change sync (`python -X importtime`: 0.2-0.4 s on a busy 2-core machine). So it is
imported only when a value other than the run's times changed (files tracked,
rejected, unpushed, memory counts...): the text it rendered is kept in
`.vaultsync/metrics.json`, and a run that changed nothing else only re-stamps the
lines of the three per-run gauges.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaultsync import __version__, eventlog, runs
from vaultsync.errors import VaultsyncError
from vaultsync.fsutil import atomic_write, read_json_object
from vaultsync.result import PushStatus

if TYPE_CHECKING:
    from vaultsync.config import Config
    from vaultsync.result import SyncResult
    from vaultsync.vault import Vault

FILE_NAME = "vaultsync.prom"  # in metrics_dir
HELP = {
    "vaultsync_last_run_timestamp_seconds": "When the last sync ran (Unix time).",
    "vaultsync_last_success_timestamp_seconds": "When a sync last did not fail (Unix time).",
    "vaultsync_sync_duration_seconds": "How long the last sync took.",
    "vaultsync_files_tracked": "Files in the sources the last sync scanned.",
    "vaultsync_files_rejected": "Changed files the last sync did not commit.",
    "vaultsync_unpushed_commits": "Commits the remote does not have yet.",
    "vaultsync_forgotten": "Memories lost in syncs that raised the forgetting alarm.",
    "vaultsync_memories": "Memories in a file, counted when a sync last changed it.",
    "vaultsync_build_info": "The vaultsync version.",
}
PER_RUN = (
    "vaultsync_last_run_timestamp_seconds",
    "vaultsync_last_success_timestamp_seconds",
    "vaultsync_sync_duration_seconds",
)

COUNTS = ("vaultsync_files_tracked", "vaultsync_files_rejected", "vaultsync_unpushed_commits")


def cache_path(vault: Vault) -> Path:
    return vault.state_dir / "metrics.json"


def write(vault: Vault, result: SyncResult) -> None:
    """Write the metrics of this run (an observer of every sync, failed or not)."""
    if result.dry_run or result.locked:
        return
    cache = _load(cache_path(vault))
    stable = _stable(vault, result, cache.get("stable") or {})
    text = cache.get("text")
    if stable != cache.get("stable") or not isinstance(text, str):
        text = render(stable)
        atomic_write(
            cache_path(vault), json.dumps({"stable": stable, "text": text}).encode(), durable=False
        )
    out = stamp(text, _per_run(vault, result)).encode()
    atomic_write(vault.metrics_path, out, durable=False)
    cfg = _config(vault)
    if cfg is not None and cfg.metrics_dir:
        folder = Path(os.path.expanduser(cfg.metrics_dir))
        try:
            atomic_write(folder / FILE_NAME, out, durable=False)
        except OSError as exc:
            eventlog.append(vault.root, "metrics-failed", f"cannot write in {folder}: {exc}")


def _config(vault: Vault) -> Config | None:
    """The configuration, or None when the sync failed because it is broken."""
    try:
        return vault.config
    except VaultsyncError:
        return None


def _load(path: Path) -> dict[str, Any]:
    return read_json_object(path)


def _stable(vault: Vault, r: SyncResult, prev: dict[str, Any]) -> dict[str, Any]:
    """The values that change only when something happened; a failed run keeps what
    the last run that got as far as a scan counted."""
    scanned = r.failure is None
    memories = dict(prev.get("memories") or {})
    memories.update(dict(r.memories))
    for vp in r.deleted:
        memories.pop(vp, None)
    tracked, rejected = (r.files_tracked, len(r.rejected)) if scanned else (None, None)
    return {
        "vaultsync_files_tracked": _or(tracked, prev.get("vaultsync_files_tracked")),
        "vaultsync_files_rejected": _or(rejected, prev.get("vaultsync_files_rejected")),
        "vaultsync_unpushed_commits": _unpushed(vault, r),
        "vaultsync_forgotten": int(prev.get("vaultsync_forgotten", 0))
        + sum(f.lost for f in r.forgotten),
        "memories": dict(sorted(memories.items())),
        "version": __version__,
    }


def _or(value: int | None, previous: Any) -> int:
    if value is not None:
        return value
    return previous if isinstance(previous, int) else 0


def _unpushed(vault: Vault, r: SyncResult) -> int:
    cfg = _config(vault)
    if cfg is None or not cfg.remote or r.push.status == PushStatus.OK or vault.git.head() is None:
        return 0
    return vault.git.unpushed(cfg.remote, cfg.branch)


def _per_run(vault: Vault, r: SyncResult) -> dict[str, float]:
    from datetime import datetime

    success = runs.load(vault.runs_path).last_success
    return {
        "vaultsync_last_run_timestamp_seconds": r.started.timestamp(),
        "vaultsync_last_success_timestamp_seconds": (
            datetime.fromisoformat(success).timestamp() if success else 0.0
        ),
        "vaultsync_sync_duration_seconds": round(r.duration_s, 6),
    }


def render(stable: dict[str, Any]) -> str:
    """The whole file, rendered by prometheus_client (names, types, label escaping)."""
    import prometheus_client as pc

    pc.disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` sample that changes with every render
    reg = pc.CollectorRegistry()

    def gauge(name: str, labels: tuple[str, ...] = ()) -> Any:
        return pc.Gauge(name, HELP[name], labels, registry=reg)

    for name in PER_RUN:
        gauge(name).set(0)  # stamped per run
    for name in COUNTS:
        gauge(name).set(stable[name])
    pc.Counter("vaultsync_forgotten", HELP["vaultsync_forgotten"], registry=reg).inc(
        stable["vaultsync_forgotten"]
    )
    memories = gauge("vaultsync_memories", ("file",))
    for vp, n in stable["memories"].items():
        memories.labels(vp).set(n)
    gauge("vaultsync_build_info", ("version",)).labels(stable["version"]).set(1)
    return str(pc.generate_latest(reg).decode("utf-8"))


def stamp(text: str, values: dict[str, float]) -> str:
    """Put this run's values on the lines of the unlabelled per-run gauges."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        name, _, _ = line.partition(" ")
        if name in values:
            lines[i] = f"{name} {float(values[name])!r}"
    return "\n".join(lines) + "\n"
