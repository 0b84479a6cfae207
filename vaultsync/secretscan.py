"""Find credentials in memory files before they are committed to the vault.

A `Finding` says where (line) and what (kind), never the secret: findings are
printed, logged and shown in hooks, and a scanner must not copy the key it
caught into a log.

Why hand-written regexes and not detect-secrets (Yelp, 1.5.0, measured on 2
CPUs; the 60 MB exports hold memories with UUIDs, mem0-style md5 "hash", git
SHAs, ISO dates and 1536-float embeddings, pretty-printed (3.2 M lines) or as
one line; json.loads takes 0.7 s and 1.3 s on them):

- Coverage: no Anthropic or Google rule (only the generic "Base64 High
  Entropy String"), no github_pat_, no xapp-, no sk-proj- key without the
  legacy "T3BlbkFJ" marker, no JSON-escaped Slack webhook (https:\\/\\/...).
  Its "Hex High Entropy String" flags mem0's 32-char "hash" and git SHAs
  (4190 findings on the pretty export), its "Secret Keyword" flags any
  password value, "hunter2" included.
- Speed: every plugin runs on every line, in Python. `scan_file` took
  414.8 s on the pretty export (all plugins) and 174.1 s with only the AWS,
  GitHub, OpenAI, Slack, private key and keyword plugins; 112.1 s / 46.5 s
  on the single-line one, where every finding is then "line 1".
- Import: 110-120 ms (`python -X importtime -c "import detect_secrets.core.scan"`),
  72 ms of it `requests`, there for online verification we must not do.
- State: no config file is needed, but plugins and filters live in a
  process-global, lru_cached `Settings` that `transient_settings()` swaps in
  and out (and `scan_line` edits), which the long-running watcher would
  share; its findings carry the secret itself (`secret_value`).

Instead each token kind is a compiled bytes regex that begins with a literal
("sk-", "gh", "A", ...), which re finds with a fast search; one combined
alternation, or (?i), makes re test every byte and took 0.5-0.7 s alone.
All ten patterns take 0.19-0.21 s on the two 60 MB exports, 0.30 s on 60 MB
of dense JSON Lines (json.loads: 0.89 s). Only matches pay for Python work
(entropy, placeholder check, line number). This module imports only the
standard library (~5 ms, compiling the patterns).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate

# Shannon entropy, bits per character. Random base62 keys of 16+ characters
# score 3.5-5; English words and identifiers of 8 characters score 2.5-3.
MIN_ENTROPY = 3.0
# Below 8 characters a field value ("hunter2", "bearer", "enabled") is as
# likely a word or a flag as a password; flagging those trains people to
# ignore the scanner, so short values are not reported.
MIN_FIELD_LENGTH = 8

_KINDS = {
    "aws_id": "AWS access key",
    "aws_secret": "AWS secret key",
    "github": "GitHub token",
    "github_pat": "GitHub token",
    "openai": "OpenAI API key",
    "anthropic": "Anthropic API key",
    "slack": "Slack token",
    "slack_webhook": "Slack webhook URL",
    "google": "Google API key",
    "private_key": "private key block",
}

_CODES = {
    **{kind: group.removesuffix("_pat") for group, kind in _KINDS.items()},
    "password field": "password",
    "secret field": "secret",
    "token field": "token",
    "api_key field": "api_key",
}
_CODES["AWS access key"], _CODES["AWS secret key"] = "aws_access_key", "aws_secret_key"

# A JSON key ending in one of these (case-insensitive) names a credential.
_FIELD_KINDS = {
    b"password": "password field",
    b"passwd": "password field",
    b"passphrase": "password field",
    b"secret": "secret field",
    b"secret_key": "secret field",
    b"secretkey": "secret field",
    b"secret-key": "secret field",
    b"secret_access_key": "secret field",
    b"secretaccesskey": "secret field",
    b"token": "token field",
    b"api_key": "api_key field",
    b"apikey": "api_key field",
    b"api-key": "api_key field",
}


def _aws_secret_pattern(prefix: bytes) -> Token:
    # "aws" and "AWS" are two patterns because a literal first character is
    # what lets re skip ahead; (?i) or [aA] would test every byte of the file.
    return (prefix,), (
        re.escape(prefix) + rb"[\w.-]{0,30}?(?i:secret|key)[\w.-]{0,12}\\?\"?\s*[:=]\s*\\?\"?"
        rb"(?P<aws_secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
    )


# A pattern's source, and literals one of which any match contains. The patterns are
# compiled on first use (re caches them), and in a small buffer (an append's new lines)
# only those whose literal is there: compiling all of them was most of this module's
# import, paid by every sync that scanned a line.
Token = tuple[tuple[bytes, ...], bytes]
GATE_BELOW = 1 << 20  # past this, the literal searches would cost what re's own do


# Each pattern's named group is the random part of the token, checked for
# entropy; the group's name is its kind. Upper bounds keep a match, and the
# entropy count on it, small even in a 100 MB run of letters.
_TOKEN_PATTERNS: tuple[Token, ...] = (
    # AKIA: a long-term AWS key id, ASIA: a temporary (STS) one.
    (
        (b"AKIA", b"ASIA", b"AIza"),
        rb"A(?:[KS]IA(?P<aws_id>[A-Z0-9]{16})(?![A-Za-z0-9])"
        rb"|Iza(?P<google>[\w-]{35})(?![\w-]))",
    ),
    (
        (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"),
        rb"gh[pousr]_(?P<github>[A-Za-z0-9]{36,255})(?!\w)",
    ),
    ((b"github_pat_",), rb"github_pat_(?P<github_pat>\w{60,255})(?!\w)"),
    (
        (b"sk-",),
        rb"sk-(?:ant-[a-z]{2,10}\d{0,3}-(?P<anthropic>[\w-]{32,400})|(?P<openai>[\w-]{20,400}))"
        rb"(?![\w-])",
    ),
    ((b"xox", b"xapp-"), rb"x(?:ox[abposr]|app)-(?P<slack>[A-Za-z0-9-]{10,400})(?![\w-])"),
    # JSON may escape "/" as "\/".
    (
        (b"hooks.slack.com",),
        rb"hooks\.slack\.com\\?/services\\?/(?P<slack_webhook>T\w{4,40}\\?/B\w{4,40}\\?/\w{8,80})",
    ),
    # Inside a JSON string the PEM's newlines are the two characters "\n".
    # Requiring 40 characters of key body after the header skips prose that
    # only names the header, and "...", "<your key>" placeholders. The pattern
    # starts at "BEGIN" and looks back for the dashes: a leading "-" would stop
    # the search at every negative number of an embedding.
    (
        (b"PRIVATE KEY",),
        rb"BEGIN(?<=-----BEGIN) [A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----"
        rb"(?P<private_key>(?:\\[nr]|[A-Za-z0-9+/=:,\s-]){40})",
    ),
    _aws_secret_pattern(b"aws"),
    _aws_secret_pattern(b"AWS"),
)


def _field_pattern() -> bytes:
    # Anchored on '":' (the end of a key: a fast literal search), then a cheap
    # gate on the key's last two characters, and only then the lookbehinds for
    # each keyword: a dense JSON Lines file has a million keys in 60 MB, and
    # trying every keyword on every key cost 0.45 s there, the gate 0.04 s.
    # A key may end in \" when it belongs to JSON kept as a string (a tool
    # result stored verbatim). Keys written as "key" : (space before the
    # colon) are not matched; no common serializer writes them.
    last = b"".join({word[-1:] for word in _FIELD_KINDS})
    second_last = b"".join({word[-2:-1] for word in _FIELD_KINDS})
    gate = b"(?<=[" + _both_cases(second_last + last) + b"][" + _both_cases(last) + rb'\\]":)'
    keywords = b"|".join(
        b"(?<=(?i:" + re.escape(word) + b")" + quote + b'":)'
        for word in _FIELD_KINDS
        for quote in (b"", rb"\\")
    )
    return (
        b'":' + gate + b"(?:" + keywords + rb')\s*\\?"(?P<value>(?:[^"\\\s]|\\[^"\s]){1,4096})\\?"'
    )


def _both_cases(letters: bytes) -> bytes:
    return re.escape(letters.lower() + letters.upper())


_FIELD_PATTERN = _field_pattern()

# Values that stand in for a credential: references ($ENV, {{ var }}, <key>),
# masks (***, xxxx, ...) and the words people type instead of a key. Masks are
# case-sensitive and 4+ long: "xXx" turns up in one random 156-character key
# in a few hundred.
_PLACEHOLDER = (
    rb"^(?:\$|\{\{|<|%\(|#\{)|\*\*\*|\.\.\.|xxxx|XXXX"
    rb"|(?i:redact|placeholder|change_?me|example|your|dummy|sample|fake)"
)
# "OPENAI_API_KEY" as a value names the environment variable holding the key.
_ENV_NAME = rb"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"


@dataclass(frozen=True)
class Finding:
    """A credential's line (1-based) and kind; never the credential itself."""

    line: int
    kind: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.kind}"


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Span:
    """Where a credential is, as bytes [start, end) of the file, for redaction; `code`
    names its kind in the placeholder ("anthropic", "password")."""

    start: int
    end: int
    kind: str
    code: str


def scan(data: bytes) -> list[Finding]:
    """Credentials in a JSON / JSON Lines file's raw bytes, in line order.

    Works on bytes, so invalid UTF-8 and binary junk are scanned, not raised
    on. One finding per (line, kind). The whole buffer is scanned at once, so
    a file that is one 100 MB line costs what 100 MB of short lines do.
    """
    return list(dict.fromkeys(_findings(data, _hits(data))))


def spans(data: bytes) -> list[Span]:
    """Each credential's bytes, in file order, none overlapping: a private key from its
    BEGIN line to its END line (or the end of the string it sits in)."""
    out: list[Span] = []
    for hit in _hits(data):
        start, end = hit.start, hit.end
        if hit.kind == _KINDS["private_key"]:
            start, end = start - len(b"-----"), _key_end(data, hit.end)
        if out and start < out[-1].end:
            continue  # inside the previous one
        out.append(Span(start, end, hit.kind, _CODES[hit.kind]))
    return out


def redact(data: bytes, found: list[Span]) -> bytes:
    """`data` with each span replaced by `[REDACTED:<code>]`: no quote or backslash in
    it, so a JSON string stays a JSON string and the file stays valid."""
    parts, at = [], 0
    for span in found:
        parts += [data[at : span.start], b"[REDACTED:" + span.code.encode() + b"]"]
        at = span.end
    return b"".join([*parts, data[at:]])


def redact_all(data: bytes) -> bytes:
    """`data` with every credential found in it redacted."""
    found = spans(data)
    return redact(data, found) if found else data


_KEY_END = rb"-----END [A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----"
_STRING_END = rb'(?<!\\)"|[\r\n]'


def _key_end(data: bytes, body: int) -> int:
    """Where a private key that starts before `body` ends: its END line, else the end of
    the JSON string (or the line) it is in. Its body is never left behind in the copy."""
    found = re.compile(_KEY_END).search(data, body, body + 65536)
    if found:
        return found.end()
    end = re.compile(_STRING_END).search(data, body)
    return end.start() if end else len(data)


def _hits(data: bytes) -> list[_Hit]:
    tokens = list(_token_hits(data))
    fields = list(_outside(tokens, _field_hits(data)))
    return sorted(tokens + fields, key=lambda hit: hit.start)


def _token_hits(data: bytes) -> Iterator[_Hit]:
    small = len(data) < GATE_BELOW
    for literals, source in _TOKEN_PATTERNS:
        if small and not any(literal in data for literal in literals):
            continue  # no match can be in there: not even compiled
        for match in re.compile(source).finditer(data):
            group = match.lastgroup
            assert group is not None  # every alternative ends in a named group
            body = match.group(group)
            if _starts_a_word(data, match.start()) and _is_random(group, body):
                yield _Hit(match.start(), match.end(), _KINDS[group])


def _starts_a_word(data: bytes, start: int) -> bool:
    # "task-list" must not read as an "sk-" key; but a token right after an
    # escaped newline ("...:\nsk-...") follows a letter and still counts.
    if not data[start - 1 : start].isalnum():  # ASCII only, unlike str.isalnum
        return True
    return start >= 2 and data[start - 2] == ord("\\")


def _is_random(group: str, body: bytes) -> bool:
    if re.compile(_PLACEHOLDER).search(body) or _entropy(body) < MIN_ENTROPY:
        return False
    # "sk-" also starts ordinary slugs ("sk-learn-compatible-models"); OpenAI
    # keys are base62, so they mix digits and both letter cases.
    if group == "openai":
        return _has_digit_upper_lower(body)
    return True


def _has_digit_upper_lower(text: bytes) -> bool:
    return (
        any(48 <= c <= 57 for c in text)
        and any(65 <= c <= 90 for c in text)
        and any(97 <= c <= 122 for c in text)
    )


def _field_hits(data: bytes) -> Iterator[_Hit]:
    if len(data) < GATE_BELOW and b'":' not in data:
        return  # no JSON key: not even compiled
    for match in re.compile(_FIELD_PATTERN).finditer(data):
        value = match.group("value")
        if _looks_like_credential(value):
            start, end = match.span("value")
            yield _Hit(start, end, _field_kind(data, match.start()))


def _field_kind(data: bytes, key_end: int) -> str:
    key_tail = data[max(0, key_end - 24) : key_end].rstrip(b"\\").lower()
    return next(kind for word, kind in _FIELD_KINDS.items() if key_tail.endswith(word))


def _looks_like_credential(value: bytes) -> bool:
    if len(value) < MIN_FIELD_LENGTH or re.compile(_ENV_NAME).fullmatch(value):
        return False
    return not re.compile(_PLACEHOLDER).search(value) and _entropy(value) >= MIN_ENTROPY


def _entropy(text: bytes) -> float:
    """Shannon entropy in bits per character."""
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in Counter(text).values())


def _outside(tokens: list[_Hit], fields: Iterator[_Hit]) -> Iterator[_Hit]:
    """The field hits that no token hit overlaps.

    "api_key": "sk-..." is one OpenAI key, not also an api_key field. Sorted
    starts and a running maximum of ends keep this linear-logarithmic for a
    file with thousands of each.
    """
    ordered = sorted(tokens, key=lambda hit: hit.start)
    starts = [hit.start for hit in ordered]
    reach = list(accumulate((hit.end for hit in ordered), max))
    for hit in fields:
        before = bisect_left(starts, hit.end)
        if not before or reach[before - 1] <= hit.start:
            yield hit


def _findings(data: bytes, hits: list[_Hit]) -> Iterator[Finding]:
    # Count newlines only between consecutive hits (sorted): one pass over the
    # file in total, however many hits, not one count from the start per hit.
    line, position = 1, 0
    for hit in hits:
        line += data.count(b"\n", position, hit.start)
        position = hit.start
        yield Finding(line, hit.kind)
