"""A big memory export validated without its whole tree: the `memories` array is read
one memory at a time and each is checked against the schema's item subschema, the rest
of the document with that array emptied. Parsing a 545 MB export whole builds 30
million Python floats (1.2 GB beside the bytes and their text); this holds one memory,
and the text a window at a time (json's own raw_decode on each window).

Only a verdict of "valid" comes from here, and only for the shipped memory-export
schema, whose `memories` is `{"type": "array", "items": ...}` and which nothing else
looks into: valid(document) is then exactly valid(rest) and valid(each memory).
Anything else (malformed text, NaN, a duplicate top-level key, nesting too deep, an
invalid memory, another schema) is undecided, and the caller checks the document
whole, as before, for the same verdict and the same words."""

from __future__ import annotations

import codecs
import functools
from typing import TYPE_CHECKING, Any

from vaultsync import detect, jsonparse

if TYPE_CHECKING:
    from vaultsync.schemas import Checked, _Schema

EXPORT = "memory-export"
ARRAY = "memories"
# The keywords of the `memories` subschema for which this reading is exact.
_ARRAY_KEYWORDS = frozenset({"type", "items", "title", "description", "$comment"})


class Undecided(Exception):
    """The streaming reading cannot give the verdict: the document is checked whole."""


WINDOW = 8 << 20  # bytes decoded at a time (grown for a value that does not fit)


def check(data: bytes, named: _Schema | None) -> Checked | None:
    """`data` checked as schemas.check would, when it is a valid memory export (its
    `doc` left out); None when this reading cannot say so."""
    from vaultsync.schemas import Checked

    if not jsonparse.is_utf8(data):
        return None
    try:
        valid_export(_Text(data), named)
    except Undecided:
        return None
    return Checked(None, None, EXPORT)


def valid_export(text: _Text, named: _Schema | None) -> bool:
    """True when the document is a valid memory export (`named` is that schema, or None
    for "auto" and the document is detected as one); raises Undecided in every other
    case, and never says False: the whole path words the problem."""
    from vaultsync import schemas

    export = schemas._shipped(EXPORT)
    item = _item_schema()
    if (named is not None and named is not export) or item is None:
        raise Undecided

    def check(value: Any) -> None:
        if not item.is_valid(value):
            raise Undecided  # invalid: the whole path finds and words its first error

    rest = _outer(text, check)
    if named is None and detect.of_document(rest) != EXPORT:
        raise Undecided
    if not isinstance(rest.get(ARRAY), list) or not export.is_valid(rest):
        raise Undecided
    return True


class _Text:
    """The decoded text of UTF-8 bytes, held a window at a time. Positions are offsets
    in the whole text (what `data.decode("utf-8-sig")` would give); what lies before
    the last `release` is gone. Bytes that are not UTF-8 are Undecided."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.byte = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
        self.base = 0  # the offset of self.text[0]
        self.text = ""
        self.done = False
        self._more(WINDOW)

    def _more(self, size: int) -> bool:
        """Decode about `size` more bytes; False at the end of the data."""
        if self.done:
            return False
        chunk = self.data[self.byte : self.byte + size]
        final = self.byte + len(chunk) >= len(self.data)
        try:
            more, used = codecs.utf_8_decode(chunk, "strict", final)
        except UnicodeDecodeError:
            raise Undecided from None
        self.byte += used
        self.text += more
        self.done = final
        return True

    def char(self, pos: int) -> str:
        while pos - self.base >= len(self.text) and self._more(WINDOW):
            pass
        return self.text[pos - self.base : pos - self.base + 1]

    def skip(self, pos: int) -> int:
        """Past JSON's whitespace from `pos`."""
        while True:
            end = jsonparse._skip_ws(self.text, pos - self.base)
            if end < len(self.text) or not self._more(WINDOW):
                return self.base + end
            pos = self.base + end

    def value(self, pos: int) -> tuple[Any, int]:
        """The value at `pos` (json.loads's reading of it), and where it ends. A value
        cut by the window's end is read again with more text."""
        while True:
            try:
                value, end = jsonparse.parse_at(self.text, pos - self.base)
            except RecursionError:
                raise Undecided from None
            except ValueError:
                if self._more(max(WINDOW, len(self.text))):
                    continue
                raise Undecided from None
            if end < len(self.text) or not self._more(WINDOW):
                return value, self.base + end

    def release(self, pos: int) -> None:
        """Nothing before `pos` is asked for again."""
        cut = pos - self.base
        if cut > len(self.text) // 2:
            self.text, self.base = self.text[cut:], pos

    def at_end(self, pos: int) -> bool:
        return self.char(pos) == "" and self.done


def _outer(text: _Text, check: Any) -> dict[str, Any]:
    """The top-level object with `memories` emptied, each memory parsed (as json.loads
    would) and handed to `check` as it is reached, then dropped."""
    pos = text.skip(0)
    if text.char(pos) != "{":
        raise Undecided
    rest: dict[str, Any] = {}
    pos = text.skip(pos + 1)
    closed = text.char(pos) == "}"
    while not closed:
        if text.char(pos) != '"':
            raise Undecided
        key, pos = text.value(pos)
        if key in rest:
            raise Undecided  # a duplicate key: json.loads keeps the last; checked whole
        pos = text.skip(pos)
        if text.char(pos) != ":":
            raise Undecided
        pos = text.skip(pos + 1)
        if key == ARRAY and text.char(pos) == "[":
            pos = _array(text, pos, check)
            rest[key] = []
        else:
            rest[key], pos = text.value(pos)
        pos = text.skip(pos)
        sep = text.char(pos)
        if sep not in (",", "}"):
            raise Undecided
        closed = sep == "}"
        if not closed:
            pos = text.skip(pos + 1)
    if not text.at_end(text.skip(pos + 1)):
        raise Undecided  # extra data
    return rest


def _array(text: _Text, pos: int, check: Any) -> int:
    """Past the array at `pos`, each item parsed, checked and dropped."""
    pos = text.skip(pos + 1)
    if text.char(pos) == "]":
        return pos + 1
    while True:
        value, pos = text.value(pos)
        check(value)
        del value
        text.release(pos)
        pos = text.skip(pos)
        sep = text.char(pos)
        if sep == "]":
            return pos + 1
        if sep != ",":
            raise Undecided
        pos = text.skip(pos + 1)


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
