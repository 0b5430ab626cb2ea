"""Copydesk: structured records in, reviewed copy out.

This package is the plain-Python core (no Prefect imports): settings, storage,
ingest, planning, generation backends, checks, rendering and the CLI.
"""

__version__ = "0.1.0"
