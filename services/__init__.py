"""The three services (ingest, aggregator, api), what they share, and the `ribao` CLI."""
