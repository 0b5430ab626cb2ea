"""`python -m copydesk.cli`: the same as the `copydesk` command."""

from copydesk.cli.main import run

run()
