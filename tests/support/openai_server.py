"""A small real OpenAI-compatible HTTP server on 127.0.0.1 for tests.

It answers `/v1/chat/completions` and `/v1/completions` with a `responder` (any
function from the request body to text: canned, or a real TextGenerator; it raises
`Refusal` to answer with an error status), can be told to fail the next requests with
given status codes, and keeps a history of bodies.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], str]


class Refusal(Exception):
    """Raise from a responder to answer that request with `status` instead of a completion."""

    def __init__(self, status: int, message: str = "refused") -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ServerState:
    responder: Responder
    fail_next: list[int] = field(default_factory=list)  # status codes to answer first
    history: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class RunningServer:
    url: str
    state: ServerState


def _handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.history.append(body)
                status = state.fail_next.pop(0) if state.fail_next else 200
                state.statuses.append(status)
            if status != 200:
                self._send(
                    status, {"error": {"message": f"injected {status}"}}, {"Retry-After": "0"}
                )
                return
            if self.path not in ("/v1/chat/completions", "/v1/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                text = state.responder(body)
            except Refusal as refusal:
                self._send(refusal.status, {"error": {"message": str(refusal)}})
                return
            prompt = json.dumps(body.get("messages") or body.get("prompt"))
            choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
            if self.path.endswith("chat/completions"):
                choice["message"] = {"role": "assistant", "content": text}
            else:
                choice["text"] = text
            usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}
            self._send(
                200,
                {"id": "cmpl-test", "object": "completion", "choices": [choice], "usage": usage},
            )

        def _send(
            self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def openai_server(responder: Responder) -> Iterator[RunningServer]:
    state = ServerState(responder=responder)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RunningServer(url=f"http://127.0.0.1:{server.server_address[1]}", state=state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
