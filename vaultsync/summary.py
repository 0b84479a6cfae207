"""Output that scales: per source and per kind counts ("claude: 2,000 unchanged,
3 modified") in place of one line per file once there are many files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

LIST_UP_TO = 20  # more files than this are counted per source; --files lists them


def source_of(vault_path: str) -> str:
    return vault_path.partition("/")[0]


def by_source(
    kinds: Iterable[tuple[str, Iterable[str]]], tracked: Mapping[str, int] | None = None
) -> list[str]:
    """'name: 2,000 unchanged, 3 modified' per source, the kinds in the order given.
    `tracked` (files per source on disk now) adds the unchanged count."""
    counts: dict[str, dict[str, int]] = {}
    for kind, paths in kinds:
        for vp in paths:
            per = counts.setdefault(source_of(vp), {})
            per[kind] = per.get(kind, 0) + 1
    lines = []
    for name in sorted(set(counts) | set(tracked or {})):
        per = counts.get(name, {})
        parts = []
        if tracked is not None and name in tracked:
            changed = sum(n for kind, n in per.items() if kind != "deleted")  # not on disk
            parts.append(f"{max(tracked[name] - changed, 0):,} unchanged")
        parts += [f"{n:,} {kind}" for kind, n in per.items()]
        lines.append(f"{name}: {', '.join(parts)}")
    return lines


def files_hint(count: int) -> str:
    return f"({count:,} files; add --files to list them)"
