"""The batch pipeline as plain functions, one module per stage: ingest → plan → generate →
refine → output (→ images), plus the batch lifecycle (`batch`), shared types (`types`),
row builders (`rows`), the in-process stage loop (`inline`) and regeneration rounds."""
