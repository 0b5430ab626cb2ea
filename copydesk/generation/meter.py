"""A count of the texts this process's local model has generated, for a progress bar in
the same process (`copydesk run`): it moves as each batch of prompts finishes, inside a
chunk, where the database only changes when the chunk's stage ends."""

from __future__ import annotations

import threading


class TextMeter:
    """Texts and tokens generated so far in this process (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._texts = 0
        self._tokens = 0

    def add(self, texts: int, tokens: int) -> None:
        with self._lock:
            self._texts += texts
            self._tokens += tokens

    def read(self) -> tuple[int, int]:
        with self._lock:
            return self._texts, self._tokens


METER = TextMeter()
