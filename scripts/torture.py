"""scripts/torture's driver: run the reliability suites and print their figures.
Usage: python scripts/torture.py [--quick] [--only PART,...] [--seed N] [--jobs N] [--json]
Parts: crash, faults, kth, hostile, races, remote. --jobs N runs N parts at once, each
in a process of its own (default: 2 for the long run, 1 for --quick).
Exit 1 when a figure whose goal is zero is not zero."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.torturelib import crash, faults, hostile, kth, races, remote  # noqa: E402
from scripts.torturelib.lab import Figures  # noqa: E402

PARTS = ("crash", "faults", "kth", "hostile", "races", "remote")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="the subset the test suite runs")
    ap.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--json", action="store_true", help="one JSON document on stdout")
    ap.add_argument("--jobs", type=int, default=None, help="parts run at once")
    a = ap.parse_args()
    q = a.quick
    parts = a.only.split(",")
    jobs = a.jobs if a.jobs is not None else (1 if q else 2)
    if jobs > 1 and len(parts) > 1:
        return _parallel(parts, jobs, a)
    runners = {
        "crash": lambda: crash.run(kills=10 if q else 200, seed=a.seed),
        "faults": lambda: faults.run(quick=q, seed=a.seed),
        "kth": lambda: kth.run(quick=q, seed=a.seed),
        "hostile": lambda: hostile.run(examples=4 if q else 100, seed=a.seed),
        "races": lambda: races.run(seconds=4 if q else 45, seed=a.seed),
        "remote": lambda: remote.run(quick=q, seed=a.seed),
    }
    results: list[Figures] = []
    for part in parts:
        t0 = time.monotonic()
        fig = runners[part]()
        fig.counts["seconds"] = round(time.monotonic() - t0)
        results.append(fig)
        if not a.json:
            _show(fig)
    return _finish(results, a.json)


def _show(fig: Figures) -> None:
    print(f"== {fig.name}: " + ", ".join(f"{k} {v}" for k, v in fig.counts.items()))
    for n in fig.notes:
        print(f"   {n}")
    sys.stdout.flush()


def _parallel(parts: list[str], jobs: int, a: argparse.Namespace) -> int:
    """Each part in a process of its own (`--only PART --json`), `jobs` at a time."""

    def one(part: str) -> Figures:
        argv = [sys.executable, __file__, "--only", part, "--seed", str(a.seed), "--json"]
        p = subprocess.run(argv + (["--quick"] if a.quick else []), capture_output=True,
                           text=True)
        try:
            doc = json.loads(p.stdout)[part]
        except (ValueError, KeyError):
            fig = Figures(part, counts={"driver_failed": 1}, zero=("driver_failed",))
            fig.note(p.stderr[-600:])
            return fig
        fig = Figures(part, counts=doc["counts"], notes=doc["notes"], zero=tuple(doc["bad"]))
        if not a.json:
            _show(fig)
        return fig

    t0 = time.monotonic()
    with ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(one, parts))
    if not a.json:
        print(f"== all parts: {round(time.monotonic() - t0)} s with {jobs} at a time")
    return _finish(results, a.json)


def _finish(results: list[Figures], as_json: bool) -> int:
    bad = [f"{f.name}.{k}" for f in results for k in f.bad()]
    if as_json:
        doc = {f.name: {"counts": f.counts, "notes": f.notes, "bad": f.bad()} for f in results}
        print(json.dumps(doc, indent=2))
    elif bad:
        print("NOT ZERO: " + ", ".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
