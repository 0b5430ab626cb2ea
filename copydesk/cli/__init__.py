"""The `copydesk` command (`copydesk.cli:run`): one module per command group. The only
part of the core package that starts flows."""

from __future__ import annotations

from copydesk.cli.main import app, run

__all__ = ["app", "run"]
