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


class NameGate:
    """Globs like `**/NAME`, `**/*.EXT`, `**/PREFIX*`: a file's name is tested first (a set
    lookup, str.endswith / startswith), and only a name that passes meets the regex. The
    credential excludes run on every file of every scan; the regex alone costs 5x more."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.globs = GlobSet(patterns)
        names: set[str] = set()
        suffixes: list[str] = []
        prefixes: list[str] = []
        self.always = False
        for pattern in self.globs.patterns:
            last = pattern.rpartition("/")[2]
            stars = last.count("*")
            if any(c in last for c in "?[") or stars > 1:
                self.always = True
            elif not stars:
                names.add(last)
            elif last.startswith("*"):
                suffixes.append(last[1:])
            elif last.endswith("*"):
                prefixes.append(last[:-1])
            else:
                self.always = True
        self.names, self.suffixes, self.prefixes = names, tuple(suffixes), tuple(prefixes)

    def __bool__(self) -> bool:
        return bool(self.globs.patterns)

    def match(self, name: str, rel_path: str) -> bool:
        if self.always or (
            name in self.names or name.endswith(self.suffixes) or name.startswith(self.prefixes)
        ):
            return self.globs.match(rel_path)
        return False
