"""Strict JSON and JSON Lines parsing for validation: NaN and Infinity refused, the
encoding detected as json.loads does, every error located by line (and column)."""

from __future__ import annotations

import json
import re
from typing import Any

_WS = re.compile(r"[ \t\n\r]*")  # JSON's whitespace; str.strip() would also eat \u00a0 etc.


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
