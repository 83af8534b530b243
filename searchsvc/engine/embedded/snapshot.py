"""Open indexes for readers, switching to a new generation as soon as it is swapped in."""

from __future__ import annotations

import threading
from pathlib import Path

from whoosh import scoring

from searchsvc.config import load_config
from searchsvc.engine.base import EngineView
from searchsvc.engine.embedded import answers, completion, stories, typos
from searchsvc.engine.embedded.paragraphs import ParagraphStats
from searchsvc.engine.embedded.querying import make_parser
from searchsvc.engine.embedded.ranking import NewsWeighting, RankingSettings
from searchsvc.engine.embedded.related import related_articles
from searchsvc.engine.embedded.state import MAX_IDFS, GenerationState
from searchsvc.index import store
from searchsvc.index.indexer import load_terms
from searchsvc.index.schema import record_to_article
from searchsvc.text.analysis import load_term_table

SEARCHER_WAIT_SECONDS = 10  # then a pair past the bound is opened rather than wait longer
MAX_CACHED_IDFS = MAX_IDFS  # words whose idf Whoosh's own table in a searcher may keep


class IndexSnapshot(EngineView):
    """One generation opened for reading; each thread uses its own searchers.

    Whoosh's searchers are not shared between threads, and each pair copies its
    segment files into memory (about 70 MB on Reuters). A thread keeps its pair
    until it calls release() (the web app does, after each request), so the pairs
    number at most `max_searchers` however many threads serve. What is cached for
    the generation, the pairs share in `state`, and it goes with the snapshot.
    """

    def __init__(
        self,
        generation: store.Generation,
        title_boost: float,
        ranking: RankingSettings | None = None,
        max_searchers: int = 8,
    ):
        self.generation = generation
        self.info = generation.info()
        self.articles, self.paragraphs = generation.open_indexes()
        self.state = GenerationState(generation.path, self.articles)
        # The stemmed words this generation's build saw: snippets never stem them again.
        load_term_table(load_terms(generation.path))
        self.ranking = ranking or RankingSettings()
        self.parser = make_parser(self.articles.schema, title_boost, self.ranking)
        self._local = threading.local()
        self._free: list[tuple] = []
        self._opened = 0
        self._max_searchers = max_searchers
        self._returned = threading.Condition()

    # The engine view: what search.py, the web and the CLI ask of this generation.

    def rank(self, request):
        return answers.rank_request(self, request)

    def article(self, article_id: str):
        article_searcher, _ = self.searchers()
        stored = article_searcher.document(id=article_id)
        return record_to_article(stored["record"]) if stored else None

    def related(self, article) -> list[dict]:
        return related_articles(self.searchers()[0], article)

    def headlines(self, head: str, prefix: str, limit: int) -> list[dict]:
        searcher = self.searchers()[0]
        return completion.headlines(searcher, head, prefix, self.vocabulary(), limit)

    def vocabulary(self):
        return typos.generation_vocabulary(self.state, self.searchers()[0])

    def story_columns(self) -> stories.StoryColumns:
        """Document number -> story and place in it (stories.py), read once per generation."""
        searcher = self.searchers()[0]
        return self.state.per_index(
            searcher.reader(), "stories", stories.story_columns, searcher, self.generation.path
        )

    def paragraph_stats(self) -> ParagraphStats:
        return ParagraphStats(self.searchers()[1])

    def health(self) -> dict:
        return {
            "articles": self.info["articles"],
            "paragraphs": self.info["paragraphs"],
            "built_at": self.info["built_at"],
            "generation": self.generation.name,
        }

    def searchers(self):
        """(article searcher, paragraph searcher) for the calling thread."""
        pair = getattr(self._local, "pair", None)
        if pair is None:
            pair = self._local.pair = self._take()
        return pair

    def release(self) -> None:
        """Give the calling thread's searchers back, for the next thread that needs them."""
        pair = getattr(self._local, "pair", None)
        if pair is None:
            return
        self._local.pair = None
        for searcher in pair:
            # Scorers keep idfs in the state; Whoosh's own table, filled by whatever asks
            # searcher.idf(), would keep every word ever asked for the searcher's life.
            if len(getattr(searcher, "_idf_cache", ())) > MAX_CACHED_IDFS:
                searcher._idf_cache.clear()
        with self._returned:
            self._free.append(pair)
            self._returned.notify()

    def _take(self) -> tuple:
        with self._returned:
            if not self._free and self._opened >= self._max_searchers:
                self._returned.wait_for(lambda: self._free, timeout=SEARCHER_WAIT_SECONDS)
            if self._free:
                return self._free.pop()
            self._opened += 1
        return (
            # The weighting carries the state to every scorer and sub-searcher.
            self.articles.searcher(weighting=NewsWeighting(self.ranking, self.state)),
            self.paragraphs.searcher(weighting=scoring.BM25F()),
        )


class IndexHandle:
    """The index directory as readers see it: always the current generation."""

    def __init__(
        self,
        index_dir: Path,
        title_boost: float | None = None,
        ranking: RankingSettings | None = None,
        max_searchers: int = 8,
    ):
        self.index_dir = Path(index_dir)
        # Not given: the configured headline weight, as the server and eval use.
        self.title_boost = load_config().title_boost if title_boost is None else title_boost
        self.max_searchers = max_searchers
        # Not given: the ranking settings from the environment (or their defaults).
        self.ranking = ranking or RankingSettings.from_config(load_config())
        self._state: tuple[int, int] | None = None
        self._snapshot: IndexSnapshot | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_config(cls, config) -> IndexHandle:
        """The handle every reader uses: index directory, headline boost and ranking knobs."""
        ranking = RankingSettings.from_config(config)
        # A pair for each search a worker may hold, and one for the cheap pages.
        return cls(config.index, config.title_boost, ranking, config.max_pending_searches + 1)

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
                        self._snapshot = IndexSnapshot(
                            generation, self.title_boost, self.ranking, self.max_searchers
                        )
                    self._state = state
        return self._snapshot
