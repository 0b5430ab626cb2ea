"""Findings marked in a text at their spans."""

from __future__ import annotations

from copydesk.desk.marked_text import FindingView, Segment, highlight


def _finding(start: int | None, end: int | None) -> FindingView:
    return FindingView("s", "check", "error", "message", None, start, end)


def test_highlight_marks_spans_and_keeps_every_character() -> None:
    text = "The cat sat on the mat."
    segments = highlight(text, [_finding(4, 7), _finding(19, 22), _finding(5, 9)])
    assert segments == [
        Segment("The "),
        Segment("cat", 0),
        Segment(" s", 2),  # the overlapping rest of the third finding
        Segment("at on the "),
        Segment("mat", 1),
        Segment("."),
    ]
    # Spans without offsets or outside the text are listed but not marked.
    assert highlight(text, [_finding(None, None), _finding(10, 99)]) == [Segment(text)]
