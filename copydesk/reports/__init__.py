"""Reports: a batch's summary (`batches`), its quality figures (`quality`) and an item's
lineage (`lineage`)."""
