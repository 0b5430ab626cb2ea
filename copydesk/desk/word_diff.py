"""Word-level differences between two texts, as data (kept, added, removed pieces) for a
page to colour; whitespace is kept, so the pieces spell both texts."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

Change = Literal["same", "ins", "del"]


@dataclass(frozen=True)
class DiffSegment:
    """A piece of a word-level diff: kept (`same`), added (`ins`) or removed (`del`)."""

    text: str
    change: Change = "same"


_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def word_diff(before: str, after: str) -> list[DiffSegment]:
    """A word-level diff (whitespace kept): the `same` and `del` segments spell `before`,
    the `same` and `ins` ones `after`. A removed run comes before its replacement; white
    space between two changes joins them into one."""
    old, new = _TOKEN.findall(before), _TOKEN.findall(after)
    opcodes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    segments: list[DiffSegment] = []
    removed: list[str] = []
    added: list[str] = []

    def flush() -> None:
        pieces: tuple[tuple[str, Change], ...] = (
            ("".join(removed), "del"),
            ("".join(added), "ins"),
        )
        for text, change in pieces:
            if text:
                _add(segments, text, change)
        removed.clear()
        added.clear()

    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        if op == "equal":
            kept = "".join(old[i1:i2])
            if kept.isspace() and removed and added and index + 1 < len(opcodes):
                removed.append(kept)
                added.append(kept)
                continue
            flush()
            _add(segments, kept, "same")
        else:
            removed += old[i1:i2]
            added += new[j1:j2]
    flush()
    return segments


def _add(segments: list[DiffSegment], text: str, change: Change) -> None:
    if segments and segments[-1].change == change:
        segments[-1] = DiffSegment(segments[-1].text + text, change)
    else:
        segments.append(DiffSegment(text, change))
