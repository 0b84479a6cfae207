"""JSON Lines read line by line from the bytes give what the whole-file decode gave."""

from __future__ import annotations

import codecs
import json

import pytest

from vaultsync import jsonparse, schemas

GOOD = b'{"type": "entity", "name": "a", "entityType": "person", "observations": []}'
DEEP = b"[" * 100_000 + b"]" * 100_000

CASES = {
    "plain": GOOD + b"\n" + GOOD + b"\n",
    "no final newline": GOOD + b"\n" + GOOD,
    "empty": b"",
    "only newlines": b"\n\n\n",
    "blank and spaced lines": b"\n  \t\r\n" + GOOD + b"\n\n   " + GOOD + b"  \n",
    "bom": codecs.BOM_UTF8 + GOOD + b"\n" + GOOD,
    "bom then bad line": codecs.BOM_UTF8 + b"{oops}\n" + GOOD,
    "bom twice": codecs.BOM_UTF8 + codecs.BOM_UTF8 + GOOD,
    "bom on line 2": GOOD + b"\n" + codecs.BOM_UTF8 + GOOD,
    "crlf": GOOD + b"\r\n" + GOOD + b"\r\n",
    "lone cr inside": GOOD + b"\r" + GOOD,
    "u2028 raw inside a string": b'{"a": "x\xe2\x80\xa8y"}\n[1]',
    "u2028 between values": b"[1]\xe2\x80\xa8\n[2]",
    "nbsp around": b"\xc2\xa0[1]\n",
    "nan": b'{"a": 1}\n{"a": NaN}\n',
    "infinity": b'{"a": -Infinity}',
    "lone surrogate escape": b'{"a": "\\ud83d"}\n{"b": "\\udc00x"}',
    "surrogate bytes": b'{"a": 1}\n{"a": "\xed\xa0\xbd"}',
    "duplicate keys": b'{"a": 1, "a": 2}\n{"b": [1, {"c": 1, "c": null}]}',
    "invalid utf-8 late, bad json early": b"{broken\n" + GOOD + b"\n[\xff]\n",
    "invalid utf-8 first": b"\x80[1]\n{broken\n",
    "sequence cut by a newline": b"[1]\n\"ab\xe2\x82\n[2]",
    "sequence cut by the end": b"[1]\n\"ab\xe2\x82",
    "overlong encoding": b"[1]\n[\"\xc0\xaf\"]",
    "bom then invalid utf-8": codecs.BOM_UTF8 + b"[1]\n[\xff]",
    "extra data": b'[1]\n{"a": 1} {"b": 2}\n',
    "extra data after bad line": b'[1] x\n\xff',
    "truncated line": b'[1]\n{"a": \n[2]',
    "missing comma": b'{"a": 1}\n{"a": 1 "b": 2}\n',
    "nul byte": b"[1]\n\x00\n",
    "deep nesting": b"[1]\n" + DEEP + b"\n",
    "deep but fine": b"[" * 50 + b"]" * 50,
    "numbers": b"1\n-0.5e3\n\"s\"\ntrue\nnull\n",
}


def _text_path(data: bytes) -> object:
    try:
        return jsonparse.parse_lines(jsonparse.decode(data))
    except jsonparse.ParseError as exc:
        return ("error", exc.where, exc.message)


def _byte_path(data: bytes) -> object:
    try:
        return jsonparse.parse_utf8_lines(data)
    except jsonparse.ParseError as exc:
        return ("error", exc.where, exc.message)


@pytest.mark.parametrize("name", list(CASES))
def test_bytes_line_by_line_match_the_whole_file_decode(name: str) -> None:
    data = CASES[name]
    assert jsonparse.is_utf8(data)
    expected = _text_path(data)
    got = _byte_path(data)
    # repr: NaN would never compare equal; lone surrogates and types must match too.
    assert repr(got) == repr(expected)


def test_the_cases_cover_each_rule() -> None:
    outcomes = {name: _byte_path(data) for name, data in CASES.items()}
    errors = {n: o for n, o in outcomes.items() if isinstance(o, tuple) and o[0] == "error"}
    assert errors["nan"][1:] == ("line 2", "not well-formed JSON: NaN is not valid JSON")
    assert errors["invalid utf-8 late, bad json early"] == (
        "error", "", "not UTF-8 text (a binary file?): invalid start byte at byte 85"
    )
    assert errors["sequence cut by a newline"][2].endswith("invalid continuation byte at byte 7")
    assert errors["sequence cut by the end"][2].endswith("unexpected end of data at byte 7")
    assert errors["bom then invalid utf-8"][2].endswith("at byte 5")  # counted after the BOM
    assert errors["deep nesting"][1:] == ("line 2", "nested too deeply to read")
    assert errors["extra data"][1:] == ("line 2", "not well-formed JSON: Extra data (column 10)")
    assert outcomes["blank and spaced lines"] == ([json.loads(GOOD)] * 2, [3, 5])
    assert outcomes["duplicate keys"] == ([{"a": 2}, {"b": [1, {"c": None}]}], [1, 2])
    assert outcomes["lone surrogate escape"] == ([{"a": "\ud83d"}, {"b": "\udc00x"}], [1, 2])


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32-be"])
def test_other_encodings_take_the_whole_file_path(encoding: str) -> None:
    data = (GOOD.decode() + "\n" + GOOD.decode()).encode(encoding)
    assert not jsonparse.is_utf8(data)
    checked = schemas.check(data, "memory.jsonl")
    assert checked.problem is None and checked.doc == [json.loads(GOOD)] * 2


def test_check_of_a_jsonl_file_names_the_file_line_and_schema() -> None:
    bad = b'{"type": "entity", "name": "b", "observations": []}'
    checked = schemas.check(b"\r\n".join([GOOD, GOOD, bad]) + b"\r\n", "mcp/memory.jsonl")
    assert checked.schema == "mcp-knowledge-graph" and checked.lines
    assert checked.problem is not None
    assert str(checked.problem).startswith("mcp-knowledge-graph: line 3")
    cut = schemas.check(codecs.BOM_UTF8 + GOOD + b"\n[\xff]", "m.jsonl").problem
    assert str(cut) == "jsonl: not UTF-8 text (a binary file?): invalid start byte at byte 77"


def test_random_damage_reads_the_same_both_ways() -> None:
    import random

    rng = random.Random(8)
    base = b"\n".join(CASES[n] for n in ("plain", "crlf", "u2028 raw inside a string", "numbers"))
    alphabet = b'\n\r \t{}[]",:\\\x00\x80\xbf\xc3\xe2\xed\xf0\xff' + "é😀".encode()
    for _ in range(400):
        data = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.choice(alphabet)
        if not jsonparse.is_utf8(bytes(data)):
            continue
        assert repr(_byte_path(bytes(data))) == repr(_text_path(bytes(data))), bytes(data)
