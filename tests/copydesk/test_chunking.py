"""Chunking: lists of up to `size` items, reading no further than one chunk ahead."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from copydesk.chunking import chunked


def test_chunks_keep_order_and_the_last_is_short() -> None:
    assert list(chunked(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunked([], 3)) == []


def test_it_reads_one_chunk_ahead_at_most() -> None:
    read = []

    def numbers() -> Iterator[int]:
        for n in range(10):
            read.append(n)
            yield n

    first = next(chunked(numbers(), 4))

    assert first == [0, 1, 2, 3] and read == [0, 1, 2, 3]


def test_a_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        next(chunked([1], 0))
