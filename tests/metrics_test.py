"""metrics.prom: written after every sync, failed or not, parsed by Prometheus's own parser."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Env


def samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(path.read_text()):
        for s in family.samples:
            out[s.name, tuple(sorted(s.labels.items()))] = s.value
    return out


def value(path: Path, name: str, **labels: str) -> float:
    return samples(path)[name, tuple(sorted(labels.items()))]


def test_metrics_after_every_sync_parse_with_prometheus(synced: Env) -> None:
    prom = synced.vault / ".vaultsync" / "metrics.prom"
    got = samples(prom)
    tracked = len([p for p in (synced.home / "mem").rglob("*") if p.is_file()])
    assert value(prom, "vaultsync_files_tracked") == tracked
    assert value(prom, "vaultsync_files_rejected") == 0
    assert value(prom, "vaultsync_unpushed_commits") == 0
    assert value(prom, "vaultsync_forgotten_total") == 0
    assert abs(value(prom, "vaultsync_last_run_timestamp_seconds") - time.time()) < 3600
    assert ("vaultsync_sync_duration_seconds", ()) in got
    assert [k for k in got if k[0] == "vaultsync_build_info"][0][1][0][0] == "version"

    first_run = value(prom, "vaultsync_last_run_timestamp_seconds")
    synced.vs("sync")  # nothing changed: only the run's times move
    assert value(prom, "vaultsync_last_run_timestamp_seconds") >= first_run

    (synced.home / "mem" / "mcp" / "memory.jsonl").write_text("{broken\n")
    synced.vs("sync", code=1)
    assert value(prom, "vaultsync_files_rejected") == 1
    success = value(prom, "vaultsync_last_success_timestamp_seconds")
    assert success == value(prom, "vaultsync_last_run_timestamp_seconds")


def test_a_failed_sync_still_writes_metrics_and_metrics_dir(synced: Env) -> None:
    textfile = synced.root / "textfile"
    textfile.mkdir()
    config = synced.vault / "vaultsync.toml"
    setting = f"metrics_dir = {json.dumps(str(textfile))}"
    good = config.read_text().replace("[vault]", f"[vault]\n{setting}")
    config.write_text(good)
    synced.vs("sync")
    prom = synced.vault / ".vaultsync" / "metrics.prom"
    assert prom.read_text() == (textfile / "vaultsync.prom").read_text()
    success = value(prom, "vaultsync_last_success_timestamp_seconds")
    prom.unlink()
    config.write_text(good.replace("[vault]", "[vault]\nmax_delete = 7"))
    synced.vs("sync", code=2)  # a broken config: the sync fails, and says so in metrics
    runs = json.loads((synced.vault / ".vaultsync" / "runs.json").read_text())
    assert runs["last_error"] is not None
    last_run = value(prom, "vaultsync_last_run_timestamp_seconds")
    assert last_run == datetime.fromisoformat(runs["last_run"]).timestamp()
    assert value(prom, "vaultsync_last_success_timestamp_seconds") == success
    assert value(prom, "vaultsync_files_tracked") > 0  # the last scan's count, kept


def test_memory_counts_and_forgotten_total(env: Env) -> None:
    folder = env.home / "mem0"
    folder.mkdir()
    items = [{"id": str(i), "memory": f"likes {i}"} for i in range(10)]
    path = folder / "memories.json"
    path.write_text(json.dumps(items[:9]))
    env.vs("init")
    env.vs("track", str(folder))
    env.vs("sync")
    path.write_text(json.dumps(items))
    env.vs("sync")
    prom = env.vault / ".vaultsync" / "metrics.prom"
    assert value(prom, "vaultsync_memories", file="mem0/memories.json") == 10
    path.write_text(json.dumps(items[:3]))
    env.vs("sync", code=1)  # 7 of 10 forgotten
    assert value(prom, "vaultsync_memories", file="mem0/memories.json") == 3
    assert value(prom, "vaultsync_forgotten_total") == 7
