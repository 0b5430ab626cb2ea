"""Prefect tasks: thin shells that resolve settings, sessions and backends, then call `copydesk`."""
