"""Hostile memory files and names, as hypothesis strategies."""

from __future__ import annotations

import json

from hypothesis import strategies as st

GOOD = {
    "json": json.dumps({"id": "a", "content": "tea", "tags": ["x", "y"]}).encode(),
    "jsonl": b'{"type": "entity", "name": "Ada", "entityType": "person", "observations": ["t"]}\n'
    b'{"type": "relation", "from": "Ada", "to": "Bob", "relationType": "knows"}\n',
    "md": b"---\ntitle: notes\n---\n# Notes\n\n## Prefs\n\n- tea\n- coffee\n",
}


def _deep(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


@st.composite
def content(draw: st.DrawFn, huge: int) -> tuple[str, bytes]:
    """(extension, bytes): a memory file broken in one of the ways real files break."""
    ext = draw(st.sampled_from(sorted(GOOD)))
    good = GOOD[ext]
    how = draw(st.sampled_from([
        "truncate", "bad-utf8", "bom", "crlf", "nan", "surrogate", "raw-surrogate",
        "deep", "huge-line", "dup-keys", "binary", "empty", "nul",
    ]))
    if how == "truncate":
        return ext, good[: draw(st.integers(0, len(good) - 1))]
    if how == "bad-utf8":
        at = draw(st.integers(0, len(good)))
        bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\xe2\x82", b"\x80"]))
        return ext, good[:at] + bad + good[at:]
    if how == "bom":
        return ext, b"\xef\xbb\xbf" + good
    if how == "crlf":
        return ext, good.replace(b"\n", b"\r\n") + b"\r\n"
    if how == "nan":
        v = draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e999"]))
        return ext, b'{"id": "n", "content": ' + v + b"}" + (b"\n" if ext == "jsonl" else b"")
    if how == "surrogate":
        return ext, b'{"id": "s", "content": "\\ud800 and \\udfff"}\n'
    if how == "raw-surrogate":
        return ext, b'{"id": "s", "content": "\xed\xa0\x80"}\n'
    if how == "deep":
        depth = draw(st.integers(100, 20000))
        body = _deep(depth, draw(st.sampled_from(["list", "dict"])))
        return ext, (b"---\nx: " + body + b"\n---\n# t\n") if ext == "md" else body
    if how == "huge-line":
        n = draw(st.integers(1000, huge))
        return ext, b'{"id": "h", "content": "' + b"x" * n + b'"}\n'
    if how == "dup-keys":
        return ext, b'{"id": "a", "id": "b", "content": "c", "content": 1}\n'
    if how == "nul":
        return ext, good[:5] + b"\0" + good[5:]
    if how == "empty":
        return ext, b""
    return ext, draw(st.binary(min_size=1, max_size=512))


@st.composite
def name(draw: st.DrawFn, tag: str, ext: str) -> bytes:
    """A file name (bytes, relative, maybe with folders) holding `tag` so the output can
    be searched for it."""
    how = draw(st.sampled_from(["plain", "newline", "bad-utf8", "255", "dash", "deep",
                                "space", "unicode"]))
    t = tag.encode()
    e = b"." + ext.encode()
    if how == "newline":
        return t + b"\nline2" + e
    if how == "bad-utf8":
        return t + b"\xff\xfe" + e
    if how == "255":
        return t + b"n" * (255 - len(t) - len(e)) + e
    if how == "dash":
        return b"--" + t + e
    if how == "deep":  # a path near PATH_MAX (4096) below the source
        depth = draw(st.integers(10, 15))
        return b"/".join([b"d" * 250] * depth) + b"/" + t + e
    if how == "space":
        return b" " + t + b" \t" + e
    if how == "unicode":
        return t + "é\u202e\u200b".encode() + e
    return t + e
