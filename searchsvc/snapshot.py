"""Open indexes for readers, switching to a new generation as soon as it is swapped in."""

from __future__ import annotations

import threading
from pathlib import Path

from whoosh import scoring

from searchsvc import store
from searchsvc.analysis import load_term_table
from searchsvc.config import load_config
from searchsvc.indexer import load_terms
from searchsvc.querying import make_parser
from searchsvc.ranking import NewsWeighting, RankingSettings


class IndexSnapshot:
    """One generation opened for reading; searchers are per thread (Whoosh's are not shared)."""

    def __init__(
        self,
        generation: store.Generation,
        title_boost: float,
        ranking: RankingSettings | None = None,
    ):
        self.generation = generation
        self.info = generation.info()
        self.articles, self.paragraphs = generation.open_indexes()
        # The stemmed words this generation's build saw: snippets never stem them again.
        load_term_table(load_terms(generation.path))
        self.ranking = ranking or RankingSettings()
        self.parser = make_parser(self.articles.schema, title_boost, self.ranking)
        self._local = threading.local()

    def searchers(self):
        """(article searcher, paragraph searcher) for the calling thread."""
        pair = getattr(self._local, "pair", None)
        if pair is None:
            pair = (
                self.articles.searcher(weighting=NewsWeighting(self.ranking)),
                self.paragraphs.searcher(weighting=scoring.BM25F()),
            )
            self._local.pair = pair
        return pair


class IndexHandle:
    """The index directory as readers see it: always the current generation."""

    def __init__(
        self, index_dir: Path, title_boost: float = 2.0, ranking: RankingSettings | None = None
    ):
        self.index_dir = Path(index_dir)
        self.title_boost = title_boost
        # Not given: the ranking settings from the environment (or their defaults).
        self.ranking = ranking or RankingSettings.from_config(load_config())
        self._state: tuple[int, int] | None = None
        self._snapshot: IndexSnapshot | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_config(cls, config) -> IndexHandle:
        """The handle every reader uses: index directory, headline boost and ranking knobs."""
        return cls(config.index, config.title_boost, RankingSettings.from_config(config))

    def snapshot(self) -> IndexSnapshot:
        """The current generation; raises store.IndexMissing when there is none."""
        state = store.pointer_state(self.index_dir)
        if state is None or state != self._state or self._snapshot is None:
            with self._lock:
                state = store.pointer_state(self.index_dir)
                if state is None:
                    self._state, self._snapshot = None, None
                    store.current_generation(self.index_dir)  # raises IndexMissing, with advice
                if state != self._state or self._snapshot is None:
                    generation = store.current_generation(self.index_dir)
                    if self._snapshot is None or self._snapshot.generation != generation:
                        self._snapshot = IndexSnapshot(generation, self.title_boost, self.ranking)
                    self._state = state
        return self._snapshot
