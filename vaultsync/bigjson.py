"""A big memory export validated without its whole tree: the `memories` array is read
one memory at a time and each is checked against the schema's item subschema, the rest
of the document with that array emptied. Parsing a 545 MB export whole builds 30
million Python floats (1.2 GB beside the bytes and their text); this holds one memory.

Only a verdict of "valid" comes from here, and only for the shipped memory-export
schema, whose `memories` is `{"type": "array", "items": ...}` and which nothing else
looks into: valid(document) is then exactly valid(rest) and valid(each memory).
Anything else (malformed text, NaN, a duplicate top-level key, nesting too deep, an
invalid memory, another schema) is undecided, and the caller checks the document
whole, as before, for the same verdict and the same words."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from vaultsync import jsonparse

if TYPE_CHECKING:
    from vaultsync.schemas import Checked, _Schema

EXPORT = "memory-export"
ARRAY = "memories"
# The keywords of the `memories` subschema for which this reading is exact.
_ARRAY_KEYWORDS = frozenset({"type", "items", "title", "description", "$comment"})


class Undecided(Exception):
    """The streaming reading cannot give the verdict: the document is checked whole."""


def check(data: bytes, named: _Schema | None) -> Checked | None:
    """`data` checked as schemas.check would, when it is a valid memory export (its
    `doc` left out); None when this reading cannot say so."""
    from vaultsync.schemas import Checked

    try:
        valid_export(jsonparse.decode(data), named)
    except (jsonparse.ParseError, Undecided):
        return None
    return Checked(None, None, EXPORT)


def valid_export(text: str, named: _Schema | None) -> bool:
    """True when the document in `text` is a valid memory export (`named` is that
    schema, or None for "auto" and the document is detected as one); raises Undecided
    in every other case, and never says False: the whole path words the problem."""
    from vaultsync import schemas

    export = schemas._shipped(EXPORT)
    if (named is not None and named is not export) or _item_schema() is None:
        raise Undecided
    item = _item_schema()
    assert item is not None

    def check(value: Any) -> None:
        if not item.is_valid(value):
            raise Undecided  # invalid: the whole path finds and words its first error

    rest = _outer(text, check)
    if named is None and schemas._detect(rest) != EXPORT:
        raise Undecided
    if not isinstance(rest.get(ARRAY), list) or not export.is_valid(rest):
        raise Undecided
    return True


def _outer(text: str, check: Any) -> dict[str, Any]:
    """The top-level object with `memories` emptied, each memory parsed (as json.loads
    would) and handed to `check` as it is reached, then dropped."""
    skip = jsonparse._skip_ws
    pos = skip(text, 0)
    if text[pos : pos + 1] != "{":
        raise Undecided
    rest: dict[str, Any] = {}
    pos = skip(text, pos + 1)
    closed = text[pos : pos + 1] == "}"
    while not closed:
        if text[pos : pos + 1] != '"':
            raise Undecided
        key, pos = _value(text, pos)
        if key in rest:
            raise Undecided  # a duplicate key: json.loads keeps the last; checked whole
        pos = skip(text, pos)
        if text[pos : pos + 1] != ":":
            raise Undecided
        pos = skip(text, pos + 1)
        if key == ARRAY and text[pos : pos + 1] == "[":
            pos = _array(text, pos, check)
            rest[key] = []
        else:
            rest[key], pos = _value(text, pos)
        pos = skip(text, pos)
        sep = text[pos : pos + 1]
        if sep not in (",", "}"):
            raise Undecided
        closed = sep == "}"
        if not closed:
            pos = skip(text, pos + 1)
    if skip(text, pos + 1) != len(text):
        raise Undecided  # extra data
    return rest


def _array(text: str, pos: int, check: Any) -> int:
    """Past the array at `pos`, each item parsed, checked and dropped."""
    skip = jsonparse._skip_ws
    pos = skip(text, pos + 1)
    if text[pos : pos + 1] == "]":
        return pos + 1
    while True:
        value, pos = _value(text, pos)
        check(value)
        del value
        pos = skip(text, pos)
        sep = text[pos : pos + 1]
        if sep == "]":
            return pos + 1
        if sep != ",":
            raise Undecided
        pos = skip(text, pos + 1)


def _value(text: str, pos: int) -> tuple[Any, int]:
    try:
        return jsonparse.parse_at(text, pos)
    except (ValueError, RecursionError):
        raise Undecided from None


@functools.cache
def _item_schema() -> _Schema | None:
    """The shipped export's `memories` item subschema as a schema of its own (with the
    document's `$defs`, which its `$ref` points into), or None when this reading would
    not be exact for it (a `memories` with more than type and items)."""
    from vaultsync import schemas

    doc = schemas._shipped(EXPORT).document
    if not isinstance(doc, dict):
        return None
    array = doc.get("properties", {}).get(ARRAY)
    if not isinstance(array, dict) or array.keys() - _ARRAY_KEYWORDS:
        return None
    if array.get("type") != "array" or not isinstance(array.get("items"), dict):
        return None
    if doc.keys() & _LOOKS_INSIDE:
        return None
    item = dict(array["items"])
    for keyword in ("$schema", "$defs"):
        if keyword in doc:
            item.setdefault(keyword, doc[keyword])
    return schemas._Schema(f"{EXPORT} item", item)


# Top-level keywords that could constrain `memories` besides its own subschema.
_LOOKS_INSIDE = frozenset(
    {
        "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas",
        "unevaluatedProperties", "patternProperties", "additionalProperties", "$ref",
        "$dynamicRef", "propertyNames",
    }
)
