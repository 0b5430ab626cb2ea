"""Prefect flows: wiring only (see DESIGN.md). Each flow orders tasks from `tasks/`."""
