"""What the checks reuse from call to call: compiled patterns, each with a string its matches
must start with (to skip a text that lacks it without running the pattern), and values
worked out once per object that does not change (a content type, a field's spec)."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
PER_OBJECT_SIZE = 64  # objects whose values one `per_object` function keeps
# A pattern's parts: an escape, a character class (a `]` first in it is literal), a character.
_PART = re.compile(r"\\.|\[\^?\]?(?:[^\]\\]|\\.)*\]|.", re.DOTALL)
_LETTER = re.compile(r"[^\W_]")  # a letter or digit, literal in a pattern
_LOOKAROUNDS = (["(", "?", "="], ["(", "?", "!"], ["(", "?", "<", "="], ["(", "?", "<", "!"])
_QUANTIFIERS = ("?", "*", "+", "{")


@dataclass(frozen=True)
class Anchored:
    """A compiled pattern (no flags) and a string every match starts with, when it has one."""

    regex: re.Pattern[str]
    anchor: str | None

    @staticmethod
    @lru_cache(maxsize=8192)  # re's own cache holds only 512 patterns
    def of(pattern: str) -> Anchored:
        return Anchored(re.compile(pattern), anchor(pattern))

    def may_occur(self, text: str) -> bool:
        """False when the text lacks the anchor (no match can start), else True."""
        return self.anchor is None or self.anchor in text

    def search(self, text: str) -> re.Match[str] | None:
        return self.regex.search(text) if self.may_occur(text) else None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.regex.finditer(text) if self.may_occur(text) else iter(())


def anchor(pattern: str) -> str | None:
    """The letters and digits that every match of the pattern starts with: those that come
    first in it, after lookarounds (they match no text), when it has no `|` outside every
    group. None when it shows none."""
    parts = _PART.findall(pattern)
    if _alternatives(parts):
        return None
    index = 0
    while any(parts[index : index + len(lead)] == lead for lead in _LOOKAROUNDS):
        index = _closing(parts, index) + 1
    letters: list[str] = []
    while index < len(parts) and _LETTER.fullmatch(parts[index]):
        letters.append(parts[index])
        index += 1
    if letters and index < len(parts) and parts[index] in _QUANTIFIERS:
        letters.pop()  # the last letter is optional, or repeated
    return "".join(letters) or None


def _alternatives(parts: list[str]) -> bool:
    """Whether a `|` stands outside every group."""
    depth = 0
    for part in parts:
        if part == "(":
            depth += 1
        elif part == ")":
            depth -= 1
        elif part == "|" and depth == 0:
            return True
    return False


def _closing(parts: list[str], start: int) -> int:
    """The index of the `)` that closes the group opened at `start`."""
    depth = 0
    for index in range(start, len(parts)):
        if parts[index] == "(":
            depth += 1
        elif parts[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    raise ValueError(f"unbalanced parentheses: {''.join(parts)!r}")


def per_object(build: Callable[[T], R]) -> Callable[[T], R]:
    """`build`, its value remembered by the identity of its argument: for objects that do
    not change but cannot be hashed (pydantic models holding lists). A remembered object is
    kept alive, so its id cannot pass to another object while it is remembered."""
    built: OrderedDict[int, tuple[T, R]] = OrderedDict()
    lock = threading.Lock()

    @wraps(build)
    def cached(obj: T) -> R:
        with lock:
            entry = built.get(id(obj))
            if entry is not None and entry[0] is obj:
                built.move_to_end(id(obj))
                return entry[1]
        value = build(obj)
        with lock:
            built[id(obj)] = (obj, value)
            if len(built) > PER_OBJECT_SIZE:
                built.popitem(last=False)
        return value

    return cached
