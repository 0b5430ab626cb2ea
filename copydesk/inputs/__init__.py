"""Inputs: everything before an item row exists. Readers (CSV / JSONL / JSON), records
(validated against a content type), sources (a file or a store prefix), schedules
(copydesk.toml) and their inboxes."""
