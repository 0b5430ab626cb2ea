"""An unreachable S3 server costs seconds, not minutes: a dead one (connection refused)
fails at once; one that accepts connections and never answers (hung, paused) fails after
one read timeout, not three (the HTTP client does not retry reads)."""

from __future__ import annotations

import socket
import time

import pytest

from copydesk.errors import StorageError
from copydesk.settings import Settings
from copydesk.storage.s3 import S3Store


def _store(port: int, read_timeout: float = 30.0) -> S3Store:
    settings = Settings(
        store="s3", s3_endpoint=f"127.0.0.1:{port}", s3_access_key="k" * 10, s3_secret_key="s" * 20
    )
    return S3Store.from_settings(settings, timeout=1.0, read_timeout=read_timeout)


def test_a_dead_server_fails_at_once() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    started = time.monotonic()
    with pytest.raises(StorageError, match="connection refused"):
        _store(port).put("batches/1/items/1/a.md", b"text", "text/markdown")
    assert time.monotonic() - started < 3


def test_a_silent_server_costs_one_read_timeout() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # the kernel accepts; nobody ever answers
        started = time.monotonic()
        with pytest.raises(StorageError, match="timed out"):
            _store(sock.getsockname()[1], read_timeout=1.0).put(
                "batches/1/items/1/a.md", b"text", "text/markdown"
            )
        assert time.monotonic() - started < 2.5  # one try: three took 3 x the timeout
