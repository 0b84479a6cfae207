"""Measure what validation costs next to parsing, on a large memory export.

Generates a memory-export of 2,000 memories with 1536-dimension float embeddings
(about 63 MB) and prints the best of a few runs of: json.loads alone, vaultsync's
check() (parse + auto-detect + verdict), and the pure-Python jsonschema alone.

    python scripts/bench_validate.py [--memories 2000] [--dims 1536] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from typing import Any

from vaultsync import schemas


def export_document(memories: int, dims: int) -> bytes:
    rng = random.Random(42)  # the same bytes every run, so figures compare across machines
    doc: dict[str, Any] = {
        "metadata": {"version": "1.0", "memory_count": memories},
        "memories": [
            {
                "id": f"mem_{i:06d}",
                "content": f"memory number {i}",
                "embedding": [rng.uniform(-1, 1) for _ in range(dims)],
                "metadata": {"client": "acme"},
                "created_at": "2026-01-20T12:00:00Z",
            }
            for i in range(memories)
        ],
        "relationships": [
            {"source_id": f"mem_{i:06d}", "target_id": f"mem_{i + 1:06d}", "rel_type": "next"}
            for i in range(memories - 1)
        ],
    }
    return json.dumps(doc).encode()


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=2000)
    parser.add_argument("--dims", type=int, default=1536)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    data = export_document(args.memories, args.dims)
    doc = json.loads(data)
    checked = schemas.check(data, "export.json")  # warm-up: compiles the schema once
    assert checked.schema == "memory-export" and checked.problem is None, checked

    from jsonschema import Draft202012Validator

    slow = Draft202012Validator(json.loads(schemas.schema_dir().joinpath(
        "memory-export.schema.json").read_bytes()))
    fast = schemas._shipped("memory-export").fast()

    parse = best_of(args.repeat, lambda: json.loads(data))
    check = best_of(args.repeat, lambda: schemas.check(data, "export.json"))
    verdict = best_of(args.repeat, lambda: fast.is_valid(doc))
    python = best_of(1, lambda: slow.is_valid(doc))

    print(f"document: {len(data) / 1e6:.1f} MB, {args.memories} memories x {args.dims} floats")
    print(f"json.loads                      {parse:8.3f} s")
    print(f"check() parse + verdict         {check:8.3f} s  ({check / parse:.2f}x json.loads)")
    print(f"  jsonschema_rs verdict alone   {verdict:8.3f} s  ({verdict / parse:.2f}x json.loads)")
    print(f"jsonschema (Python) alone       {python:8.3f} s  ({python / parse:.1f}x json.loads)")


if __name__ == "__main__":
    main()
