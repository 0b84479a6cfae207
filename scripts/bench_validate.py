"""Measure what validation costs next to parsing (the figures in docs/BENCHMARKS.md).

Two generated documents, the same bytes on every run:
- a memory-export of 2,000 memories with 1536-dimension float embeddings (~64 MB);
- an MCP memory.jsonl of 100,000 entities (~12 MB), checked line by line.
For each it prints the best of a few runs of: parsing alone (json.loads), vaultsync's
check() (parse + auto-detect + verdict), the compiled jsonschema_rs verdict alone, and
the pure-Python jsonschema verdict alone (one run: it is slow).

    python scripts/bench_validate.py [--memories 2000] [--dims 1536] [--entities 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from typing import Any

import jsonschema
import jsonschema_rs

from vaultsync import schemas


def export_document(memories: int, dims: int) -> bytes:
    rng = random.Random(42)
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


def graph_lines(entities: int) -> bytes:
    lines = [
        json.dumps(
            {
                "type": "entity",
                "name": f"entity_{i}",
                "entityType": "person",
                "observations": [f"observation {j} about entity {i}" for j in range(5)],
            }
        )
        for i in range(entities)
    ]
    return "\n".join(lines).encode()  # no final newline, like the MCP server writes it


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(label: str, data: bytes, vault_path: str, schema: str, repeat: int) -> None:
    lines = schemas.is_jsonl(vault_path)
    checked = schemas.check(data, vault_path)  # also the warm-up: compiles the schema once
    assert (checked.schema, checked.problem) == (schema, None), checked.problem
    document = json.loads((schemas.schema_dir() / f"{schema}.schema.json").read_bytes())
    fast = jsonschema_rs.validator_for(document)
    slow = jsonschema.Draft202012Validator(document)
    docs = checked.doc if lines else [checked.doc]

    def parse() -> object:
        return [json.loads(x) for x in data.splitlines()] if lines else json.loads(data)

    t_parse = best_of(repeat, parse)
    t_check = best_of(repeat, lambda: schemas.check(data, vault_path))
    t_fast = best_of(repeat, lambda: all(fast.is_valid(d) for d in docs))
    t_slow = best_of(1, lambda: all(slow.is_valid(d) for d in docs))
    print(f"{label}: {len(data) / 1e6:.1f} MB")
    print(f"  json.loads                     {t_parse:8.3f} s")
    print(f"  check() = parse + verdict      {t_check:8.3f} s  ({t_check / t_parse:.2f}x parse)")
    print(f"  jsonschema_rs verdict alone    {t_fast:8.3f} s  ({t_fast / t_parse:.2f}x parse)")
    print(f"  jsonschema (Python) alone      {t_slow:8.3f} s  ({t_slow / t_parse:.1f}x parse)")


def main() -> None:
    parser = argparse.ArgumentParser(description="Validation cost next to parsing.")
    parser.add_argument("--memories", type=int, default=2000)
    parser.add_argument("--dims", type=int, default=1536)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    export = export_document(args.memories, args.dims)
    label = f"memory-export, {args.memories} memories x {args.dims} floats"
    measure(label, export, "export/export.json", "memory-export", args.repeat)
    graph = graph_lines(args.entities)
    label = f"mcp-knowledge-graph, {args.entities} JSON Lines"
    measure(label, graph, "mcp/memory.jsonl", "mcp-knowledge-graph", args.repeat)


if __name__ == "__main__":
    main()
