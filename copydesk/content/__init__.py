"""Content types: manifests (`types`), planning a record into an `Outline` (`outline`),
image specs (`images`) and rendering the final documents (`render`)."""
