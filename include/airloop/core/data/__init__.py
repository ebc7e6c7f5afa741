"""Data plane: the lake and its storage, sources and readers, GX validation, ingest steps and
reconciliation."""
