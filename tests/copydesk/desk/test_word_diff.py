"""Word-level diffs: the pieces spell both texts; words, not lines, are marked."""

from __future__ import annotations

from itertools import pairwise

import pytest

from copydesk.desk.word_diff import DiffSegment, word_diff


def _spelled(segments: list[DiffSegment], side: str) -> str:
    return "".join(s.text for s in segments if s.change in ("same", side))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("The cat sat on the mat.", "The dog sat on the red mat!"),
        ("", "All new."),
        ("All gone.", ""),
        ("Same text.", "Same text."),
        ("line one\n\nline  two", "line one\nline two, changed"),
        ("a b c d", "x y z"),
    ],
)
def test_word_diff_spells_both_texts(before: str, after: str) -> None:
    segments = word_diff(before, after)
    assert _spelled(segments, "del") == before
    assert _spelled(segments, "ins") == after
    assert all(s.text for s in segments)
    assert all(a.change != b.change for a, b in pairwise(segments))  # runs are merged


def test_word_diff_marks_words_not_lines() -> None:
    assert word_diff("The cat sat on the mat.", "The dog sat on the red mat.") == [
        DiffSegment("The "),
        DiffSegment("cat", "del"),
        DiffSegment("dog", "ins"),
        DiffSegment(" sat on the "),
        DiffSegment("red ", "ins"),
        DiffSegment("mat."),
    ]
    # a run of replaced words is one removal and one insertion, not word by word
    assert word_diff("It is a pub.", "It serves fine food.") == [
        DiffSegment("It "),
        DiffSegment("is a pub", "del"),
        DiffSegment("serves fine food", "ins"),
        DiffSegment("."),
    ]
    assert word_diff("Same.", "Same.") == [DiffSegment("Same.")]
