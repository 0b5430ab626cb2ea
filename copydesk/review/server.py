"""Run the review app with uvicorn (`copydesk review`)."""

from __future__ import annotations

from collections.abc import Callable
from socket import socket

import uvicorn

from copydesk.review.app import create_app


class _Server(uvicorn.Server):
    """uvicorn's server, telling `on_listen` once its socket accepts connections."""

    def __init__(self, config: uvicorn.Config, on_listen: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_listen = on_listen

    async def startup(self, sockets: list[socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.on_listen()


def serve(
    host: str = "127.0.0.1", port: int = 8000, on_listen: Callable[[], None] = lambda: None
) -> None:
    """Serve the review app until interrupted; settings come from the environment."""
    config = uvicorn.Config(
        create_app(host=host),
        host=host,
        port=port,
        proxy_headers=True,  # X-Forwarded-* from a proxy on 127.0.0.1 (uvicorn's default trust)
        server_header=False,
        log_level="info",
    )
    _Server(config, on_listen).run()
