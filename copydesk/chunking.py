"""Chunking: a stream or a list cut into lists of up to `size` items (the unit every stage
and task works on)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def chunked(iterable: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to `size` items, reading no further ahead than one chunk."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk
