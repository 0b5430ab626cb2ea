"""`doctor`'s Prefect check: a healthy server whose web UI calls another API URL (Prefect's
UI assumes port 4200 unless PREFECT_UI_API_URL is set) is a warning that says the fix."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from copydesk.cli.doctor import check_prefect
from copydesk.settings import get_settings


def prefect_like(ui_api_url: str | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/api/health":
                body = b"true"
            elif self.path == "/ui-settings" and ui_api_url is not None:
                port = self.server.server_address[1]
                own = f"http://127.0.0.1:{port}/api"
                body = json.dumps({"api_url": own if ui_api_url == "self" else ui_api_url}).encode()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[ThreadingHTTPServer] = []

    def start(ui_api_url: str | None) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), prefect_like(ui_api_url))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/api"

    yield start
    for server in servers:
        server.shutdown()


def check(url: str, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("PREFECT_API_URL", url)
    get_settings.cache_clear()
    return check_prefect(get_settings())


def test_a_ui_calling_another_api_is_a_warning_with_the_fix(
    serve: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = serve("http://127.0.0.1:4200/api")  # type: ignore[operator]
    result = check(url, monkeypatch)
    assert result.ok and result.warning  # type: ignore[attr-defined]
    assert f"PREFECT_UI_API_URL={url}" in result.detail  # type: ignore[attr-defined]


def test_a_matching_ui_or_none_is_fine(serve: object, monkeypatch: pytest.MonkeyPatch) -> None:
    for ui in (None, "self"):  # no UI; a UI that calls its own API
        url = serve(ui)  # type: ignore[operator]
        result = check(url, monkeypatch)
        assert result.ok and not result.warning, result  # type: ignore[attr-defined]
