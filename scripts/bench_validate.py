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


def measure(data: bytes, vault_path: str, schema: str, repeat: int) -> dict[str, float]:
    """Seconds for: parsing alone, check() (parse + verdict), each validator's verdict."""
    lines = schemas.is_jsonl(vault_path)
    checked = schemas.check(data, vault_path)  # also the warm-up: compiles the schema once
    assert (checked.schema, checked.problem) == (schema, None), checked.problem
    document = json.loads((schemas.schema_dir() / f"{schema}.schema.json").read_bytes())
    fast = jsonschema_rs.validator_for(document)
    slow = jsonschema.Draft202012Validator(document)
    docs = checked.doc if lines else [checked.doc]

    def parse() -> object:
        return [json.loads(x) for x in data.splitlines()] if lines else json.loads(data)

    return {
        "parse": best_of(repeat, parse),
        "check": best_of(repeat, lambda: schemas.check(data, vault_path)),
        "fast": best_of(repeat, lambda: all(fast.is_valid(d) for d in docs)),
        "slow": best_of(1, lambda: all(slow.is_valid(d) for d in docs)),
    }


def markdown(memories: int, dims: int, entities: int, repeat: int) -> list[str]:
    """The validation section of docs/BENCHMARKS.md."""
    rows = [
        (
            f"memory-export: {memories:,} memories x {dims} floats",
            export_document(memories, dims),
            "export/export.json",
            "memory-export",
        ),
        (
            f"mcp-knowledge-graph: {entities:,} entities, JSON Lines",
            graph_lines(entities),
            "mcp/memory.jsonl",
            "mcp-knowledge-graph",
        ),
    ]
    out = [
        "### Validation: what checking a file costs next to parsing it",
        "",
        f"In-process, best of {repeat} (`scripts/bench_validate.py`). Target: validation "
        "costs no more than parsing; jsonschema_rs gives the verdict, the `jsonschema` "
        "library only words the message once a file is known invalid.",
        "",
        "| document | size | json.loads | check() = parse + verdict | jsonschema_rs verdict "
        "| jsonschema (Python) verdict |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, data, vault_path, schema in rows:
        t = measure(data, vault_path, schema, repeat)
        out.append(
            f"| {label} | {len(data) / 1e6:.1f} MB | {t['parse']:.3f} s "
            f"| {t['check']:.3f} s ({t['check'] / t['parse']:.2f}x) "
            f"| {t['fast']:.3f} s ({t['fast'] / t['parse']:.2f}x) "
            f"| {t['slow']:.1f} s ({t['slow'] / t['parse']:.0f}x) |"
        )
    return out + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description="Validation cost next to parsing.")
    parser.add_argument("--memories", type=int, default=2000)
    parser.add_argument("--dims", type=int, default=1536)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("\n".join(markdown(args.memories, args.dims, args.entities, args.repeat)))


if __name__ == "__main__":
    main()
