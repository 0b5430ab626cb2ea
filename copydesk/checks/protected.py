"""Where a record's names occur in a text, so that the grammar check leaves them alone.

A protected string (a value of the input record: product, brand, place names) and each of
its words of 3 letters or more, but for common ones, count wherever they occur as whole
words, in any case. Only the union of those places matters (does a lint, or the word after
an article, overlap one?), and that union is found with one search per record for the
strings that cannot overlap themselves, one search each for the rest."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

WORD = re.compile(r"[^\W_]+(?:['\u2019\-][^\W_]+)*")
# Words of a protected name too common to protect everywhere ("The Wrestlers").
_COMMON = frozenset({"the", "and", "for", "with", "from", "our", "its", "not", "but", "are", "was"})

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
    together, alone = _patterns(tuple(protected))
    spans = [match.span(1) for match in together.finditer(text)] if together else []
    spans += [match.span() for pattern in alone for match in pattern.finditer(text)]
    return Spans.union(spans)


@lru_cache(maxsize=256)
def _patterns(
    protected: tuple[str, ...],
) -> tuple[re.Pattern[str] | None, tuple[re.Pattern[str], ...]]:
    """One pattern for the strings that cannot overlap themselves: at each word start, the
    longest of them that occurs there (it covers the others that do). One pattern each for
    the rest: a search for "Walla Walla" finds one in "Walla Walla Walla", not two."""
    strings = set()
    for value in protected:
        words = WORD.findall(value)
        if words:
            strings.add(value.strip())
        strings |= {w for w in words if len(w) >= 3 and w.lower() not in _COMMON}
    alone = sorted(s for s in strings if _may_overlap_itself(s))
    longest_first = sorted(strings.difference(alone), key=len, reverse=True)
    together = None
    if longest_first:
        alternatives = "|".join(map(re.escape, longest_first))
        together = re.compile(rf"(?<!\w)(?=({alternatives})(?!\w))", re.IGNORECASE)
    return together, tuple(_whole_word(s) for s in alone)


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
    """`\\w`, for an ASCII character."""
    return char.isalnum() or char == "_"
