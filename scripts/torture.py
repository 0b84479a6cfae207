"""scripts/torture's driver: run the reliability suites and print their figures.
Usage: python scripts/torture.py [--quick] [--only crash,faults,hostile,races] [--json]
Exit 1 when a figure whose goal is zero is not zero."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.torturelib import crash, faults, hostile, races  # noqa: E402
from scripts.torturelib.lab import Figures  # noqa: E402

PARTS = ("crash", "faults", "hostile", "races")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="the subset the test suite runs")
    ap.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--json", action="store_true", help="one JSON document on stdout")
    a = ap.parse_args()
    q = a.quick
    runners = {
        "crash": lambda: crash.run(kills=10 if q else 200, seed=a.seed),
        "faults": lambda: faults.run(quick=q, seed=a.seed),
        "hostile": lambda: hostile.run(examples=4 if q else 100, seed=a.seed),
        "races": lambda: races.run(seconds=4 if q else 45, seed=a.seed),
    }
    results: list[Figures] = []
    for part in a.only.split(","):
        t0 = time.monotonic()
        fig = runners[part]()
        fig.counts["seconds"] = round(time.monotonic() - t0)
        results.append(fig)
        if not a.json:
            print(f"== {fig.name}: " + ", ".join(f"{k} {v}" for k, v in fig.counts.items()))
            for n in fig.notes:
                print(f"   {n}")
            sys.stdout.flush()
    bad = [f"{f.name}.{k}" for f in results for k in f.bad()]
    if a.json:
        doc = {f.name: {"counts": f.counts, "notes": f.notes, "bad": f.bad()} for f in results}
        print(json.dumps(doc, indent=2))
    elif bad:
        print("NOT ZERO: " + ", ".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
