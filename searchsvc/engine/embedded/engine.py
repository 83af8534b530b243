"""The embedded engine: generations of Whoosh indexes in a directory on this machine."""

from __future__ import annotations

from pathlib import Path

from searchsvc.engine.base import Engine
from searchsvc.engine.embedded.snapshot import IndexHandle, IndexSnapshot
from searchsvc.index import indexer, store


class WhooshEngine(Engine):
    """The index directory `config.index`, read through IndexHandle, written by the indexer."""

    name = "whoosh"

    def __init__(self, config):
        self.index_dir = Path(config.index)
        self.handle = IndexHandle.for_config(config)

    def view(self) -> IndexSnapshot:
        return self.handle.snapshot()

    def has_index(self) -> bool:
        return store.has_index(self.index_dir)

    def reindex(self, corpus_paths, full=False, lock_timeout=0.0, progress=None):
        return indexer.reindex(
            corpus_paths, self.index_dir, full=full, lock_timeout=lock_timeout, progress=progress
        )
