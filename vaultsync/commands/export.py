"""`vaultsync export`: a portable copy of every memory at WHEN, with checksums."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vaultsync import __version__, config, fielddiff, memories, schemas, when
from vaultsync.config import Config
from vaultsync.errors import EXIT_OK, UsageError
from vaultsync.fsutil import atomic_write, not_a_folder
from vaultsync.gitvault import GitVault, iso_z, utc_now

FORMATS = ("json", "csv", "markdown")
_FILES = {"json": "memories.json", "csv": "memories.csv", "markdown": "memories.md"}
_CSV_COLUMNS = ["source", "vault_path", "kind", "id", "content", "data"]


def run(
    vault: Path,
    fmt: str,
    at: str,
    output: Path,
    json_out: bool = False,
    quiet: bool = False,
    vectors: bool = True,
) -> int:
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if (blocker := not_a_folder([output, *output.parents])) is not None:
        raise UsageError(
            f"{blocker} is a file, so {output} cannot be the export folder",
            hint="export into a new or empty folder",
        )
    if output.exists() and any(output.iterdir()):
        raise UsageError(f"{output} is not empty", hint="export into a new or empty folder")
    cfg = config.load(vault)
    gv = GitVault(vault)
    commit = when.resolve(gv, at)
    paths = sorted(p for p in gv.tree_blobs(commit) if "/" in p)
    entries = list(collect(cfg, paths, gv.read_blobs(commit, paths)))
    if not vectors:  # --no-vectors: embeddings are most of an export's size
        entries = [{**e, "data": without_vectors(e["data"])} for e in entries]
    text = {"json": _as_json, "csv": _as_csv, "markdown": _as_markdown}[fmt](entries)
    body = _encode(text, entries, quiet)
    meta = metadata(gv, commit, fmt, paths, entries)
    written = write(output, {_FILES[fmt]: body, "metadata.json": meta})
    if json_out:
        print(json.dumps({"output": str(output), "files": written}, indent=2))
    elif not quiet:
        print(
            f"exported {len(entries)} memories from {len(paths)} files at {commit[:10]} to {output}"
        )
    return EXIT_OK


def collect(cfg: Config, paths: list[str], blobs: dict[str, bytes]) -> Iterator[dict[str, Any]]:
    """One entry per memory (record, entity, relation); a file without identity is one entry."""
    for vp in paths:
        source = vp.partition("/")[0]
        checked = schemas.check(blobs[vp], vp, cfg.schema_for(vp))
        if checked.problem is not None:
            continue  # the vault holds only valid files; a user schema may have changed since
        kinds = memories.parts(checked.doc, checked.schema) if checked.doc is not None else None
        if kinds is None:
            text = checked.doc if isinstance(checked.doc, str) else ""  # Markdown, text
            kind = checked.schema if text else "document"
            yield _entry(source, vp, kind, "", text, checked.doc)
            continue
        for kind, items in kinds.items():
            for item in items:
                name, detail = memories.label(kind, item)
                yield _entry(source, vp, kind, name, _content(kind, item, detail), item)


def without_vectors(value: Any, key: str | None = None) -> Any:
    """`value` without its embeddings (a field named like one, or a long list of numbers)."""
    if isinstance(value, dict):
        return {
            k: without_vectors(v, k)
            for k, v in value.items()
            if not (k in fielddiff.VECTOR_KEYS or fielddiff.is_vector(v))
        }
    if isinstance(value, list):
        return [without_vectors(v) for v in value]
    return value


def _content(kind: str, item: Any, detail: str) -> str:
    if kind == "entity":
        return "; ".join(str(o) for o in memories.observations(item))
    return detail


def _entry(source: str, vp: str, kind: str, ident: str, content: str, data: Any) -> dict[str, Any]:
    return {
        "source": source,
        "vault_path": vp,
        "kind": kind,
        "id": ident,
        "content": content,
        "data": data,
    }


def _encode(text: str, entries: list[dict[str, Any]], quiet: bool) -> bytes:
    """UTF-8; text that is not Unicode (a lone surrogate such as "\\ud800", which JSON
    allows) is written as its \\u escape, and the files holding it are named."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    if not quiet:
        odd = sorted({e["vault_path"] for e in entries if not _encodable(e)})
        print(
            f"warning: {', '.join(odd)}: text that is not valid Unicode (a lone surrogate) "
            "is exported as its \\u escape",
            file=sys.stderr,
        )
    return text.encode("utf-8", "backslashreplace")


def _encodable(entry: dict[str, Any]) -> bool:
    try:
        json.dumps(entry, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _as_json(entries: list[dict[str, Any]]) -> str:
    return json.dumps({"memories": entries}, ensure_ascii=False, indent=1) + "\n"


def _as_csv(entries: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for e in entries:
        writer.writerow({**e, "data": json.dumps(e["data"], ensure_ascii=False)})
    return out.getvalue()


def _as_markdown(entries: list[dict[str, Any]]) -> str:
    lines = ["# Memories", ""]
    source = path = None
    diagrams = mermaid_diagrams(entries)
    for e in entries:
        if e["source"] != source:
            source, path = e["source"], None
            lines += [f"## {source}", ""]
        if e["vault_path"] != path:
            path = e["vault_path"]
            lines += [f"### {path}", "", *diagrams.get(path, [])]
        lines.append(_markdown_item(e))
    return "\n".join(lines) + "\n"


def _markdown_item(e: dict[str, Any]) -> str:
    text = str(e["content"]).rstrip("\n")
    if e["kind"] == "markdown":  # as itself
        return text + "\n"
    if e["kind"] == "text":
        return "```text\n" + text + "\n```"
    if e["kind"] == "document":
        return "```json\n" + json.dumps(e["data"], ensure_ascii=False, indent=2) + "\n```"
    text = e["content"].replace("\n", " ")
    data = e["data"] if isinstance(e["data"], dict) else {}
    heat = [f"{k} {data[k]}" for k in _HEAT if isinstance(data.get(k), int | float)]
    extra = f" ({', '.join(heat)})" if heat else ""
    return f"- **{e['kind']} {e['id']}**{extra}" + (f": {text}" if text else "")


_HEAT = ("score", "heat", "importance")
_LINKS = {"relation": ("from", "to", "relationType"), "relationship": memories.EXPORT_RELATION}


def mermaid_diagrams(entries: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per file, a Mermaid flowchart of its MCP relations or export relationships."""
    edges: dict[str, list[tuple[str, str, str]]] = {}
    for e in entries:
        keys = _LINKS.get(e["kind"])
        if keys and isinstance(e["data"], dict):
            a, b, label = (str(e["data"].get(k, "")) for k in keys)
            edges.setdefault(e["vault_path"], []).append((a, b, label))
    return {vp: _flowchart(found) for vp, found in edges.items()}


def _flowchart(edges: list[tuple[str, str, str]]) -> list[str]:
    ids: dict[str, str] = {}

    def node(name: str) -> str:
        if name not in ids:
            ids[name] = f"n{len(ids)}"
            return f'{ids[name]}["{_mermaid_text(name)}"]'
        return ids[name]

    lines = ["```mermaid", "graph LR"]
    for a, b, label in edges:
        arrow = f"-->|{_mermaid_text(label)}|" if label else "-->"
        lines.append(f"  {node(a)} {arrow} {node(b)}")
    return [*lines, "```", ""]


def _mermaid_text(text: str) -> str:
    """Text safe inside a Mermaid label: quotes and the syntax's own characters as entities."""
    return "".join(f"#{ord(c)};" if c in '"|[]{}<>#;' else c for c in text.replace("\n", " "))


def metadata(
    gv: GitVault, commit: str, fmt: str, paths: list[str], entries: list[dict[str, Any]]
) -> bytes:
    counts: dict[str, int] = {}
    for e in entries:
        counts[e["kind"]] = counts.get(e["kind"], 0) + 1
    doc = {
        "vaultsync_version": __version__,
        "exported_at": iso_z(utc_now()),
        "commit": commit,
        "commit_time": gv.run("show", "-s", "--format=%cI", commit).decode().strip(),
        "format": fmt,
        "files": len(paths),
        "memories": len(entries),
        "counts": counts,
        "sources": sorted({p.partition("/")[0] for p in paths}),
    }
    return json.dumps(doc, indent=2).encode() + b"\n"


def write(output: Path, files: dict[str, bytes]) -> dict[str, str]:
    """Write the export and checksums.json: the SHA-256 of every other file in it."""
    output.mkdir(parents=True, exist_ok=True)
    sums = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    files["checksums.json"] = json.dumps({"sha256": sums}, indent=2).encode() + b"\n"
    for name, data in files.items():
        atomic_write(output / name, data, mode=0o600)
    return sums
