"""A big memory export checked a memory at a time: the same verdict and words as whole."""

from __future__ import annotations

import codecs
import json
from typing import Any

import pytest

from vaultsync import bigjson, schemas


def memory(i: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"m{i}", "content": f"memory {i}", "embedding": [0.5, -1e-3, 2], **extra}


def export(memories: list[Any], **extra: Any) -> dict[str, Any]:
    return {"metadata": {"version": "1.0"}, "memories": memories, **extra}


VALID = json.dumps(export([memory(i) for i in range(5)])).encode()

CASES: dict[str, bytes] = {
    "valid": VALID,
    "valid, indented, metadata last": json.dumps(
        {"memories": [memory(1), memory(2)], "relationships": [], "metadata": {}}, indent=2
    ).encode(),
    "valid, empty memories": json.dumps(export([])).encode(),
    "valid, bom and crlf": codecs.BOM_UTF8 + json.dumps(export([memory(1)]), indent=1).encode()
    .replace(b"\n", b"\r\n"),
    "valid, lone surrogate": json.dumps(export([memory(1, content="\ud83d")])).encode(),
    "valid, raw non-ascii": json.dumps(
        export([memory(i, content="é ü 😀 " * i) for i in range(9)]), ensure_ascii=False
    ).encode(),
    "valid, long numbers": json.dumps(export([memory(1, embedding=[12345678] * 99)])).encode(),
    "valid, duplicate key inside a memory": b'{"metadata": {}, "memories": [{"id": "a", '
    b'"content": 1, "content": "last wins"}]}',
    "invalid, duplicate key inside a memory": b'{"metadata": {}, "memories": [{"id": "a", '
    b'"content": "x", "content": 2}]}',
    "invalid memory": json.dumps(export([memory(1), {"id": "x"}, memory(3)])).encode(),
    "invalid embedding": json.dumps(export([memory(1, embedding="[0.1, 0.2]")])).encode(),
    "invalid rest": json.dumps({"metadata": [], "memories": [memory(1)]}).encode(),
    "invalid relationships": json.dumps(export([memory(1)], relationships=[{"x": 1}])).encode(),
    "memories not a list": json.dumps({"metadata": {}, "memories": {"a": 1}}).encode(),
    "nan": VALID.replace(b"0.5", b"NaN", 1),
    "infinity": VALID.replace(b"0.5", b"-Infinity", 1),
    "duplicate top-level key": b'{"metadata": {}, "memories": [{"id": "a", "content": "x"}], '
    b'"memories": [{"id": 1}]}',
    "duplicate top-level key, valid": b'{"metadata": {}, "memories": [{"id": 1}], '
    b'"memories": [{"id": "a", "content": "x"}]}',
    "truncated": VALID[:-40],
    "extra data": VALID + b" {}",
    "trailing comma": VALID.replace(b"]}", b",]}", 1),
    "deep metadata": b'{"metadata": {"a": ' + b"[" * 99_999 + b"]" * 99_999 + b'}, "memories": []}',
    "not utf-8": VALID.replace(b"memory 1", b"memory \xff", 1),
    "no metadata (not an export)": json.dumps({"memories": [memory(1)]}).encode(),
    "a list": json.dumps([memory(1)]).encode(),
}


def whole(data: bytes, schema: str) -> schemas.Checked:
    return schemas.check(data, "export.json", schema)


@pytest.mark.parametrize("window", [5, 64, bigjson.WINDOW])
@pytest.mark.parametrize("schema", ["auto", "memory-export"])
@pytest.mark.parametrize("name", list(CASES))
def test_streamed_verdict_and_words_are_the_whole_ones(
    name: str, schema: str, window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every case through both paths, the text read in windows that cut values,
    numbers and multi-byte characters anywhere, or in one window."""
    monkeypatch.setattr(bigjson, "WINDOW", window)
    data = CASES[name]
    expected = whole(data, schema)
    monkeypatch.setattr(schemas, "STREAM_MIN_BYTES", 0)  # every document takes the stream
    got = schemas.check(data, "export.json", schema, tree=False)
    assert (got.problem, got.schema, got.lines) == (expected.problem, expected.schema, False)
    streamed = bigjson.check(data, None if schema == "auto" else schemas._shipped(schema))
    if streamed is not None:  # it only ever says "valid", and only for an export
        assert name.startswith("valid") and expected.problem is None
        assert expected.schema == "memory-export" and got.doc is None
    else:
        assert got.doc == expected.doc  # undecided: the whole path, tree and all


@pytest.mark.parametrize("window", [5, bigjson.WINDOW])
def test_every_valid_export_case_is_decided_by_the_stream(
    window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bigjson, "WINDOW", window)
    for name, data in CASES.items():
        if name.startswith("valid") and "duplicate top-level" not in name:
            assert bigjson.check(data, None) is not None, name


def test_a_small_document_and_a_caller_wanting_the_tree_get_it() -> None:
    assert schemas.check(VALID, "export.json", tree=False).doc == json.loads(VALID)
    assert schemas.check(VALID, "export.json").doc == json.loads(VALID)


def test_the_export_schema_is_one_the_stream_is_exact_for() -> None:
    """valid(doc) == valid(rest) and valid(each memory) holds only while `memories` is
    `{"type": "array", "items": ...}` and no other keyword looks into it: if the schema
    changes so that it does not, the stream must step aside (and this test says so)."""
    item = bigjson._item_schema()
    assert item is not None
    assert item.is_valid(memory(1)) and not item.is_valid({"id": "x"})
    doc = schemas._shipped("memory-export").document
    assert isinstance(doc, dict) and set(doc["properties"]["memories"]) == {"type", "items"}


def test_another_schema_is_never_streamed() -> None:
    graph = schemas._shipped("mcp-knowledge-graph")
    assert bigjson.check(VALID, graph) is None
