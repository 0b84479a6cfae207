"""Include/exclude globs (`**/*.json`) compiled into one regular expression."""

from __future__ import annotations

import re
from collections.abc import Iterable


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


class GlobSet:
    """Matches a relative path against any of several globs."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        body = "|".join(f"(?:{translate(p)})" for p in self.patterns)
        self._re = re.compile(f"(?:{body})\\Z") if self.patterns else None

    def match(self, rel_path: str) -> bool:
        return self._re is not None and self._re.match(rel_path) is not None
