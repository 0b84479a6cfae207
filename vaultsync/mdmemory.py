"""Markdown and text memories: checking, their sections and items, diffing and merging.

A Markdown memory (CLAUDE.md, a notes folder of a Markdown-first memory tool) is read
as people edit it: optional YAML front matter, then sections under ATX headings
(`## Preferences`), each holding list items (`- Run the tests first.`, with their
continuation lines) and lines of text. A section is known by its heading path, an item
by its text without the list marker, so a diff says `+1 item in "Preferences"` and a
merge can bring back exactly the items and sections that were removed. A text file is
one section without a heading, made of lines.

YAML comes from PyYAML's safe loader (its C version when built), with timestamps left
as strings: front matter is checked against JSON Schemas, which know no dates.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vaultsync.memories import index_by

if TYPE_CHECKING:
    from vaultsync.semdiff import SemDiff

MARKDOWN, TEXT = "markdown", "text"
TEXT_SCHEMAS = (MARKDOWN, TEXT)
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdx")
TEXT_SUFFIXES = (".txt",)

_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*\Z")
_ITEM = re.compile(r"( {0,3})(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|\Z)")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_FRONT_CLOSE = ("---", "...")


# --- checking ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextProblem:
    where: str
    message: str


def decode(data: bytes) -> str | TextProblem:
    """UTF-8 text (a BOM allowed) without NUL bytes, or why not."""
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        return TextProblem(f"line {line}", "a NUL byte: this is not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return TextProblem("", f"not UTF-8 text (a binary file?): {exc.reason} at byte {exc.start}")


def front_matter(text: str) -> tuple[str, int] | None:
    """The YAML between a first line `---` and the next `---` / `...` line, and the line
    the body starts on (0-based); None without front matter (an unclosed `---` is a rule)."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].rstrip() in _FRONT_CLOSE:
            return "\n".join(lines[1:i]), i + 1
    return None


def load_yaml(source: str) -> Any:
    """Front matter as JSON-like data; raises ValueError("line N: why") when it does not parse."""
    import yaml

    try:
        return _jsonable(yaml.load(source, Loader=_loader()))  # a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 2}: " if mark is not None else ""  # +1: the opening ---
        raise ValueError(f"{line}{exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None
    except RecursionError:
        raise ValueError("front matter nested too deeply") from None


_LOADER: list[Any] = []


def _loader() -> Any:
    if not _LOADER:
        import yaml

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class Loader(base):  # type: ignore[misc, valid-type]
            pass

        # YAML 1.1 reads `2026-11-20` as a date; JSON Schema (and JSON) has none.
        Loader.yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for first, resolvers in base.yaml_implicit_resolvers.items()
        }
        _LOADER.append(Loader)
    return _LOADER[0]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)  # !!binary and friends: kept as text, never a crash


# --- structure -----------------------------------------------------------------------------


@dataclass
class Block:
    """A list item (with its continuation lines) or one line of text, as lines [start, end)."""

    kind: str  # "item" | "line"
    key: str
    start: int
    end: int


@dataclass
class Section:
    """A heading and what follows it up to the next heading; the first one has no heading."""

    path: tuple[str, ...]
    start: int  # the heading's line (the body's first line for the preamble)
    end: int  # exclusive, trailing blank lines included
    blocks: list[Block] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.path[-1] if self.path else ""

    def content_end(self, lines: list[str]) -> int:
        end = self.end
        while end > self.start + (1 if self.path else 0) and not lines[end - 1].strip():
            end -= 1
        return end


@dataclass
class Document:
    lines: list[str]
    front: str | None
    sections: list[Section]

    def by_path(self) -> dict[Hashable, Section]:
        return index_by(self.sections, lambda s: s.path)


def parse(text: str, schema: str = MARKDOWN) -> Document:
    lines = text.split("\n")
    found = front_matter(text) if schema == MARKDOWN else None
    body = found[1] if found else 0
    sections = [Section((), body, len(lines))]
    stack: list[tuple[int, str]] = []
    fence: str | None = None
    item: Block | None = None
    for i in range(body, len(lines)):
        line = lines[i]
        current = sections[-1]
        if fence is not None:
            fence = None if line.strip().startswith(fence) else fence
            _extend(current, item, i)
            continue
        heading = _HEADING.match(line) if schema == MARKDOWN else None
        if heading:
            level, title = len(heading.group(1)), (heading.group(2) or "").strip()
            stack = [(lv, t) for lv, t in stack if lv < level] + [(level, title)]
            current.end = i
            sections.append(Section(tuple(t for _, t in stack), i, len(lines)))
            item = None
            continue
        item = _block(current, item, line, i, schema)
        opened = _FENCE.match(line) if schema == MARKDOWN else None
        if opened:
            fence = opened.group(1)[0] * 3
    if not sections[0].blocks and len(sections) > 1:
        sections = sections[1:]  # no text before the first heading
    return Document(lines, found[0] if found else None, sections)


def _block(section: Section, item: Block | None, line: str, i: int, schema: str) -> Block | None:
    """Add line `i` to `section`; returns the list item it belongs to, if any."""
    if not line.strip():
        return item  # a blank line may sit inside an item: its next line decides
    starts = _ITEM.match(line) if schema == MARKDOWN else None
    # A nested list item belongs to its top-level item: one memory, its details with it.
    if starts and not (item is not None and starts.group(1)):
        block = Block("item", line[starts.end() :].strip(), i, i + 1)
        section.blocks.append(block)
        return block
    if item is not None and (line[:1] in (" ", "\t")):
        item.key += "\n" + line.strip()
        item.end = i + 1
        return item
    section.blocks.append(Block("line", line.strip(), i, i + 1))
    return None


def _extend(section: Section, item: Block | None, i: int) -> None:
    """A line inside a fenced code block: part of the item it is in, else its own line."""
    if item is not None:
        item.end = i + 1
        return
    last = section.blocks[-1] if section.blocks else None
    if last is not None and last.kind == "line" and last.end == i:
        last.end = i + 1
    else:
        section.blocks.append(Block("line", "", i, i + 1))


def block_text(doc: Document, block: Block) -> str:
    return "\n".join(doc.lines[block.start : block.end]).rstrip()


def section_name(doc: Document, section: Section) -> str:
    """The heading as people say it ("Deploy"); the whole path when the title is not unique."""
    same = sum(1 for s in doc.sections if s.title == section.title)
    if not section.path:
        return ""
    return section.title if same == 1 else " / ".join(section.path)


def keys(section: Section, kind: str) -> Counter[str]:
    return Counter(b.key for b in section.blocks if b.kind == kind)


def missing_blocks(old: Section, new: Section, kind: str) -> list[Block]:
    """`old`'s blocks of `kind` that `new` does not have (as a multiset of their texts)."""
    have = keys(new, kind)
    out = []
    for b in old.blocks:
        if b.kind == kind:
            if have[b.key]:
                have[b.key] -= 1
            else:
                out.append(b)
    return out


def sections_only_in(a: Document, b: Document) -> list[Section]:
    other = b.by_path()
    return [s for k, s in a.by_path().items() if k not in other]


def shared(a: Document, b: Document) -> Iterable[tuple[Section, Section]]:
    other = b.by_path()
    for k, s in a.by_path().items():
        if k in other:
            yield s, other[k]


# --- diffing -------------------------------------------------------------------------------


def diff(old: str | None, new: str | None, schema: str) -> SemDiff:
    """A semdiff.SemDiff of two versions (None: no file): sections added and removed, and
    in the others the items and lines that came and went, shown as they are written."""
    from vaultsync.fielddiff import field_changes
    from vaultsync.semdiff import Change, SemDiff

    if old == new:
        return SemDiff(schema, "unchanged", "text")
    a, b = parse(old or "", schema), parse(new or "", schema)

    def entries(op: str, doc: Document, found: list[Block]) -> list[Change]:
        return [Change(op, _KIND[x.kind], block_text(doc, x)) for x in found]

    def section(op: str, doc: Document, sec: Section, kids: list[Change]) -> Change:
        return Change(op, "section", section_name(doc, sec), children=tuple(kids))

    before, changes = a.by_path(), []
    for key, sec in b.by_path().items():
        if key not in before:
            changes.append(section("+", b, sec, entries("+", b, sec.blocks)))
            continue
        was = before[key]
        kids = entries("-", a, _missing(was, sec)) + entries("+", b, _missing(sec, was))
        if kids:
            changes.append(section("~", b, sec, kids))
    for sec in sections_only_in(a, b):
        changes.append(section("-", a, sec, entries("-", a, sec.blocks)))
    keys, omitted = field_changes(_front(a), _front(b), absolute=True)
    status = "created" if old is None else "deleted" if new is None else "changed"
    found = status if changes or keys else "unchanged"
    return SemDiff(schema, found, "text", tuple(changes), keys, omitted)


_KIND = {"item": "item", "line": "text"}
_COUNTED = (("+", "item"), ("-", "item"), ("+", "text"), ("-", "text"))
_NOUNS = {"item": ("item", "items"), "text": ("line", "lines")}


def _missing(a: Section, b: Section) -> list[Block]:
    return missing_blocks(a, b, "item") + missing_blocks(a, b, "line")


def _front(doc: Document) -> Any:
    if doc.front is None:
        return {}
    try:
        return load_yaml(doc.front)
    except ValueError:
        return {"(front matter)": doc.front}


def summary_parts(changes: Iterable[Any]) -> list[str]:
    """`+1 item in "Preferences"`, `section "Deploy" added`, `+3 lines` (a text file)."""
    out = []
    for c in changes:
        where = f' "{c.name}"' if c.name else " (before the first heading)"
        if c.op != "~":
            out.append(f"section{where} {'added' if c.op == '+' else 'removed'}")
            continue
        counts = Counter((k.op, k.kind) for k in c.children)
        said = [
            f"{op}{n} {_NOUNS[kind][n != 1]}" for op, kind in _COUNTED if (n := counts[op, kind])
        ]
        out.append(", ".join(said) + (f" in{where}" if c.name else ""))
    return out


# --- merging (restore --merge) -------------------------------------------------------------


def merge(current: str, past: str) -> tuple[str, list[tuple[str, str, str]]]:
    """`current` with the sections and list items that `past` has and it lacks put back,
    each where it stood (after the section, or the item, that preceded it); nothing
    of `current` is removed or changed. Returns the text and what came back as
    (kind, name, section) triples."""
    now, then = parse(current), parse(past)
    here = now.by_path()
    inserts: list[tuple[int, int, list[str]]] = []  # (line, items before sections, lines)
    restored: list[tuple[str, str, str]] = []
    pos, after = (now.sections[0].start if now.sections else len(now.lines)), False
    for key, sec in then.by_path().items():
        name = section_name(then, sec)
        if key not in here:
            raw = then.lines[sec.start : sec.content_end(then.lines)]
            inserts.append((pos, 1, ["", *raw] if after else [*raw, ""]))
            restored.append(("section", name or "(before the first heading)", ""))
            continue
        cur = here[key]
        for at, blk in _item_places(now, cur, sec):
            inserts.append((at, 0, then.lines[blk.start : blk.end]))
            restored.append(("item", blk.key.split("\n")[0], name))
        pos, after = _subtree_end(now, cur), True
    inserts.sort(key=lambda x: (x[0], x[1]))
    out: list[str] = []
    queue = iter(inserts)
    nxt = next(queue, None)
    for i, line in enumerate([*now.lines, None]):
        while nxt is not None and nxt[0] == i:
            out += nxt[2]
            nxt = next(queue, None)
        if line is not None:
            out.append(line)
    return "\n".join(out), restored


def _item_places(now: Document, cur: Section, past: Section) -> list[tuple[int, Block]]:
    """Where each item `past` has and `cur` lacks goes: after the item it followed at
    WHEN when that one is still there, else before the list (or at the section's end)."""
    missing = {id(b) for b in missing_blocks(past, cur, "item")}
    current = {b.key: b for b in cur.blocks if b.kind == "item"}
    first = next((b.start for b in cur.blocks if b.kind == "item"), cur.content_end(now.lines))
    out, at = [], first
    for blk in past.blocks:
        if blk.kind != "item":
            continue
        if id(blk) in missing:
            out.append((at, blk))
        elif blk.key in current:
            at = current[blk.key].end
    return out


def _subtree_end(doc: Document, sec: Section) -> int:
    """Where the section and its subsections end: a section put back after it must not
    adopt the subsections that follow it."""
    i = doc.sections.index(sec)
    last = sec
    for other in doc.sections[i + 1 :]:
        if not sec.path or other.path[: len(sec.path)] != sec.path:
            break
        last = other
    return last.content_end(doc.lines)
