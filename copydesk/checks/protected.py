"""Where a record's names occur in a text, so that the grammar check leaves them alone.

A protected string (a value of the input record: product, brand, place names) and each of
its words of 3 letters or more, but for common ones, count wherever they occur as whole
words, in any case. Only the union of those places matters (does a lint, or the word after
an article, overlap one?), and that union is found with one scan per record for the
strings that cannot overlap themselves, one search each for the rest."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

WORD = re.compile(r"[^\W_]+(?:['\u2019\-][^\W_]+)*")
# Words of a protected name too common to protect everywhere ("The Wrestlers").
_COMMON = frozenset({"the", "and", "for", "with", "from", "our", "its", "not", "but", "are", "was"})
# Where a whole-word string may start: every position not just after a word character.
_NOT_AFTER_WORD = re.compile(r"(?<!\w)")
# The characters that lower-casing or re's IGNORECASE equate with ASCII letters otherwise
# than str.lower() on ASCII does ("\u212a", the Kelvin sign, is "k" in both; "\u0130"
# lower-cases to two characters): a text with one is searched with the compiled pattern.
_ODD_CASE = re.compile("[\u0130\u0131\u017f\u212a]")

Span = tuple[int, int]


@dataclass(frozen=True)
class Spans:
    """Sorted character intervals that do not overlap (they may touch)."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def union(cls, spans: list[Span]) -> Spans:
        """The union of non-empty spans: a span overlaps it exactly when it overlaps one of
        them (an empty span: when it lies inside one)."""
        starts: list[int] = []
        ends: list[int] = []
        for start, end in sorted(spans):
            if ends and start < ends[-1]:
                ends[-1] = max(ends[-1], end)
            else:
                starts.append(start)
                ends.append(end)
        return cls(tuple(starts), tuple(ends))

    def overlaps(self, span: Span) -> bool:
        # Of the intervals that start before the span ends, the last reaches furthest.
        index = bisect.bisect_left(self.starts, span[1]) - 1
        return index >= 0 and span[0] < self.ends[index]


def protected_spans(text: str, protected: Sequence[str]) -> Spans:
    """Where the protected strings, and their words of 3 letters or more, occur."""
    return _protected_spans(text, tuple(protected))


@lru_cache(maxsize=64)  # a text's safe fixes ask, then its grammar check asks again
def _protected_spans(text: str, protected: tuple[str, ...]) -> Spans:
    together, alone = _patterns(protected)
    spans = together.spans(text) if together else []
    spans += [match.span() for pattern in alone for match in pattern.finditer(text)]
    return Spans.union(spans)


@dataclass(frozen=True)
class _Together:
    """ASCII strings none of which can overlap itself, found together: at each place a
    whole word may start, the longest of them that occurs there as a whole word, in any
    case (it covers the others that do). A scan of the lower-cased text, for there is no
    pattern to build per record (compiling one cost more than the rest of the checks)."""

    by_first: dict[
        str, tuple[str, ...]
    ]  # a first character -> the strings, lower-cased, longest first

    @classmethod
    def of(cls, strings: set[str]) -> _Together:
        by_first: dict[str, list[str]] = {}
        for string in sorted({s.lower() for s in strings}, key=len, reverse=True):
            by_first.setdefault(string[0], []).append(string)
        return cls({first: tuple(strings) for first, strings in by_first.items()})

    def spans(self, text: str) -> list[Span]:
        if _ODD_CASE.search(text):
            return [match.span(1) for match in self.pattern.finditer(text)]
        low, found = text.lower(), []
        for place in _NOT_AFTER_WORD.finditer(low):
            start = place.start()
            for string in self.by_first.get(low[start : start + 1], ()):
                end = start + len(string)
                if low.startswith(string, start) and not _word_char(low[end : end + 1]):
                    found.append((start, end))
                    break
        return found

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """The same search as one pattern (for texts with characters that case oddly)."""
        strings = sorted((s for group in self.by_first.values() for s in group), key=len)
        alternatives = "|".join(map(re.escape, reversed(strings)))
        return re.compile(rf"(?<!\w)(?=({alternatives})(?!\w))", re.IGNORECASE)


@lru_cache(maxsize=256)
def _patterns(protected: tuple[str, ...]) -> tuple[_Together | None, tuple[re.Pattern[str], ...]]:
    """The strings that cannot overlap themselves, found together; one pattern each for
    the rest: a search for "Walla Walla" finds one in "Walla Walla Walla", not two."""
    strings = set()
    for value in protected:
        words = WORD.findall(value)
        if words:
            strings.add(value.strip())
        strings |= {w for w in words if len(w) >= 3 and w.lower() not in _COMMON}
    alone = sorted(s for s in strings if _may_overlap_itself(s))
    rest = strings.difference(alone)
    return (_Together.of(rest) if rest else None), tuple(_whole_word(s) for s in alone)


def _whole_word(string: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(string)}(?!\w)", re.IGNORECASE)


def _may_overlap_itself(string: str) -> bool:
    """Whether two whole-word, any-case occurrences of the string may overlap, as "Walla
    Walla" twice in "Walla Walla Walla"; any non-ASCII string may (its any-case matching is
    subtle)."""
    if not string.isascii():
        return True
    low, size = string.lower(), len(string)
    return any(
        low.startswith(low[shift:])  # its end is its start...
        and not _word_char(low[shift - 1])  # ...and a word could start there
        and not _word_char(low[size - shift])  # ...and end there
        for shift in range(1, size)
    )


def _word_char(char: str) -> bool:
    """`\\w`, for one character (False for none)."""
    return char.isalnum() or char == "_"
