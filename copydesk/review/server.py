"""Run the review app with uvicorn (`copydesk review`)."""

from __future__ import annotations

import uvicorn

from copydesk.review.app import create_app


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the review app until interrupted; settings come from the environment."""
    uvicorn.run(
        create_app(),
        host=host,
        port=port,
        proxy_headers=True,  # X-Forwarded-* from a proxy on 127.0.0.1 (uvicorn's default trust)
        server_header=False,
        log_level="info",
    )
