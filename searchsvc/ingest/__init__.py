"""Ingest: corpus files on disk -> Article records."""
