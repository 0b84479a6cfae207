"""Strict JSON and JSON Lines parsing for validation: NaN and Infinity refused, the
encoding detected as json.loads does, every error located by line (and column)."""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

_WS = re.compile(r"[ \t\n\r]*")  # JSON's whitespace; str.strip() would also eat \u00a0 etc.
_BLANKS = " \t\r"  # JSON's whitespace within a line


class ParseError(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


class ExtraData(ParseError):
    """More than one value in a .json file; `first` is the first one (legacy memory.json)."""

    def __init__(self, first: Any, where: str, message: str) -> None:
        super().__init__(where, message)
        self.first = first


def _reject_constant(name: str) -> Any:
    # Python's json reads NaN/Infinity, but they are not JSON and the compiled validator
    # cannot represent them: refuse them at the parser like any other malformed input.
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def decode(data: bytes) -> str:
    encoding = json.detect_encoding(data)  # what json.loads does: UTF-8 (BOM or not), 16, 32
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        label = encoding.removesuffix("-sig").upper()
        raise ParseError(
            "", f"not {label} text (a binary file?): {exc.reason} at byte {exc.start}"
        ) from None


def _skip_ws(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def parse_at(text: str, pos: int) -> tuple[Any, int]:
    """The JSON value that starts at `pos` in `text` (no blank before it), and its end."""
    return _DECODER.raw_decode(text, pos)


def parse_value(text: str) -> tuple[Any, int]:
    """The first JSON value in `text`, and where the non-blank text after it starts."""
    value, end = _DECODER.raw_decode(text, _skip_ws(text, 0))
    return value, _skip_ws(text, end)


def _reason(exc: ValueError | RecursionError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not well-formed JSON: {exc.msg} (column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "nested too deeply to read"
    return f"not well-formed JSON: {exc}"


def parse_json(text: str) -> Any:
    try:
        doc, end = parse_value(text)
    except (ValueError, RecursionError) as exc:
        line = exc.lineno if isinstance(exc, json.JSONDecodeError) else 0
        raise ParseError(f"line {line}" if line else "", _reason(exc)) from None
    if end < len(text):
        line, column = text.count("\n", 0, end) + 1, end - text.rfind("\n", 0, end)
        raise ExtraData(doc, f"line {line}", f"not well-formed JSON: Extra data (column {column})")
    return doc


def is_utf8(data: bytes) -> bool:
    """Whether `decode` would read `data` as UTF-8 (with or without a BOM)."""
    return json.detect_encoding(data) in ("utf-8", "utf-8-sig")


def parse_utf8_lines(data: bytes) -> tuple[list[Any], list[int]]:
    """`parse_lines(decode(data))` for UTF-8 `data`, line by line from the bytes: no str
    of the whole file and no list of its lines are ever built (a 19 MB graph held them
    both, ~45 MB, beside its parsed values). Same values, same errors, same words: a
    byte that is not UTF-8 anywhere in the file wins over a malformed line before it,
    as the whole-file decode found it first; its offset counts from after the BOM."""
    values: list[Any] = []
    numbers: list[int] = []
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    start, no, size = bom, 0, len(data)
    while start <= size:
        end = data.find(b"\n", start)
        end = size if end < 0 else end
        no += 1
        line = _decode_line(data, start, end, bom)
        start = end + 1
        # parse_value's two regex matches, and strip()'s copy, only where a blank is
        pos = _skip_ws(line, 0) if line[:1] in _BLANKS else 0
        if pos == len(line):  # blank: empty, or only spaces, tabs and CRs
            continue
        try:
            value, stop = _DECODER.raw_decode(line, pos)
            stop = stop if stop == len(line) else _skip_ws(line, stop)
        except (ValueError, RecursionError) as exc:
            _check_utf8_from(data, start, bom)
            raise ParseError(f"line {no}", _reason(exc)) from None
        if stop < len(line):
            _check_utf8_from(data, start, bom)
            raise ParseError(f"line {no}", f"not well-formed JSON: Extra data (column {stop + 1})")
        values.append(value)
        numbers.append(no)
    return values, numbers


def _decode_line(data: bytes, start: int, end: int, bom: int) -> str:
    try:
        return data[start:end].decode("utf-8")
    except UnicodeDecodeError as exc:
        error = exc
    # Decoded with its newline, as the whole file was: a sequence cut short by "\n" is
    # an "invalid continuation byte" there, not an "unexpected end of data".
    try:
        data[start : end + 1].decode("utf-8")
    except UnicodeDecodeError as exc:
        error = exc
    raise ParseError(
        "", f"not UTF-8 text (a binary file?): {error.reason} at byte {start + error.start - bom}"
    ) from None


def _check_utf8_from(data: bytes, start: int, bom: int) -> None:
    """Raise the whole-file decode's error if a byte from `start` on is not UTF-8."""
    size = len(data)
    while start <= size:
        end = data.find(b"\n", start)
        end = size if end < 0 else end
        _decode_line(data, start, end, bom)
        start = end + 1


def parse_lines(text: str) -> tuple[list[Any], list[int]]:
    """Every non-blank line's value, and its line number."""
    values, numbers = [], []
    # split("\n"), not splitlines(): \u2028 and friends may appear raw inside JSON strings.
    for no, line in enumerate(text.split("\n"), 1):
        if not line.strip(" \t\r"):
            continue
        try:
            value, end = parse_value(line)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"line {no}", _reason(exc)) from None
        if end < len(line):
            raise ParseError(f"line {no}", f"not well-formed JSON: Extra data (column {end + 1})")
        values.append(value)
        numbers.append(no)
    return values, numbers
