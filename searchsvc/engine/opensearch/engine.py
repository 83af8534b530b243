"""The OpenSearch engine: an alias on a cluster, read through views, written by reindex.

A view is one generation, opened by reading its info (statistics, what its
ranking quantities were baked with) and checking its format. Every request
then runs searchsvc's own query code over that generation's statistics
(stats.py) and sends the translated query (translate.py): the same parse,
typo tolerance, shaping and feedback as the embedded engine, the same scores.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

from searchsvc.engine.base import Engine, EngineView
from searchsvc.engine.embedded.paragraphs import ParagraphStats
from searchsvc.engine.embedded.querying import make_parser
from searchsvc.engine.embedded.ranking import RankingSettings
from searchsvc.engine.opensearch import generations, requests
from searchsvc.engine.opensearch.client import Cluster, ClusterSettings
from searchsvc.engine.opensearch.documents import doc_id
from searchsvc.engine.opensearch.mapping import FORMAT
from searchsvc.engine.opensearch.stats import ParagraphReader, StatsReader, TermStats
from searchsvc.model.articles import Article
from searchsvc.model.errors import IndexIncompatible, IndexMissing
from searchsvc.text.vocabulary import Vocabulary

ALIAS_CHECK_SECONDS = 1.0  # a swapped-in generation is served within this
DEFAULT_SHARDS = 3  # primaries of a new generation (setting opensearch_shards)
DEFAULT_REPLICAS = 1  # copies of each (opensearch_replicas): a lost node loses nothing


class OpenSearchView(EngineView):
    """One generation of the alias, open for reading; shared by a process's threads."""

    # Scores never read a shard's own statistics (each word's IDF is sent with the query,
    # from the generation's), so query_then_fetch is exact; dfs is there to be measured.
    search_type: str | None = None

    def __init__(self, cluster: Cluster, layout: generations.Layout, name: str, ranking):
        self.cluster, self.layout, self.name = cluster, layout, name
        self.ranking = ranking
        self.info = _open_info(cluster, layout, name)
        self.stats = TermStats(cluster.call, layout.terms(name))
        # The headline weight the generation's frequencies were baked with (a changed
        # setting applies from the next reindex).
        baked = self.info["baking"]["title_weight"]
        self.parser = make_parser(StatsReader(self.stats, self.info).schema, baked, ranking)
        self._vocabulary: Vocabulary | None = None
        self._vocabulary_lock = threading.Lock()

    def reader(self, records: dict | None = None) -> StatsReader:
        return StatsReader(self.stats, self.info, records)

    def lead_weight(self) -> float:
        """The ranking's lead weight times this collection's lead share (measured at load)."""
        baked = self.info["baking"]["lead_words"]
        share = self.info["lead_share"].get(str(baked), 0.0)
        return self.ranking.lead_weight * share if baked and self.ranking.lead_words else 0.0

    # The engine view.

    def rank(self, request):
        return requests.rank(self, request)

    def article(self, article_id: str) -> Article | None:
        found = self.cluster.call(
            "get", index=self.name, id=doc_id(article_id), _source_includes=["record"],
            params={"ignore": 404},
        )  # fmt: skip
        if not found.get("found"):
            return None
        article = Article.from_dict(json.loads(found["_source"]["record"]))
        return article if article.id == article_id else None

    def related(self, article: Article) -> list[dict]:
        return requests.related(self, article)

    def headlines(self, head: str, prefix: str, limit: int) -> list[dict]:
        return requests.headlines(self, head, prefix, limit)

    def vocabulary(self) -> Vocabulary | None:
        if self._vocabulary is None:
            with self._vocabulary_lock:
                if self._vocabulary is None:
                    self._vocabulary = Vocabulary.from_counts(self._word_counts())
        return self._vocabulary

    def paragraph_stats(self) -> ParagraphStats:
        return ParagraphStats(ParagraphReader(self.stats, self.info))

    def health(self) -> dict:
        return {
            "articles": self.info["articles"],
            "paragraphs": self.info["paragraphs"],
            "built_at": self.info["built_at"],
            "generation": self.name,
        }

    def _word_counts(self) -> Counter:
        counts: Counter = Counter()
        ids = [f"m:words:{part}" for part in range(self.info.get("words_parts", 0))]
        if ids:
            found = self.cluster.call("mget", index=self.layout.terms(self.name),
                                      body={"ids": ids})  # fmt: skip
            for doc in found["docs"]:
                if doc.get("found"):
                    counts.update(json.loads(doc["_source"]["data"]))
        return counts


def _open_info(cluster: Cluster, layout: generations.Layout, name: str) -> dict:
    """The generation's info; IndexIncompatible when another version of searchsvc wrote it."""
    mapping = cluster.call("indices.get_mapping", index=name)
    meta = next(iter(mapping.values()), {}).get("mappings", {}).get("_meta", {})
    written = meta.get("searchsvc_format")
    if written != FORMAT:
        raise IndexIncompatible(
            f"the OpenSearch index {name!r} was written by another version of searchsvc "
            f"(format {written!r}, this version reads {FORMAT}); rebuild it with "
            "`searchsvc reindex --full`"
        )
    found = cluster.call("get", index=layout.terms(name), id="m:info", params={"ignore": 404})
    if not found.get("found"):
        raise IndexIncompatible(f"the OpenSearch index {name!r} has no statistics; rebuild it "
                                "with `searchsvc reindex --full`")  # fmt: skip
    return json.loads(found["_source"]["data"])


class OpenSearchEngine(Engine):
    """The alias `config.opensearch_index` on the cluster at `config.opensearch_url`."""

    name = "opensearch"

    def __init__(self, config):
        self.config = config
        self.settings = ClusterSettings.from_config(config)
        self.cluster = Cluster(self.settings)
        self.layout = generations.Layout(self.settings.index)
        self.ranking = RankingSettings.from_config(config)
        self.title_boost = config.get("title_boost", 3.0)
        self.shards = _count(config, "shards", DEFAULT_SHARDS, 1)
        self.replicas = _count(config, "replicas", DEFAULT_REPLICAS, 0)
        self.window = config.get("max_result_window", 10_000)
        self._view: OpenSearchView | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def view(self) -> OpenSearchView:
        """The generation the alias names, looked up at most every ALIAS_CHECK_SECONDS."""
        now = time.monotonic()
        view = self._view
        if view is not None and now - self._checked < ALIAS_CHECK_SECONDS:
            return view
        with self._lock:
            if self._view is None:
                self.cluster.check()  # a clear error for a URL that is no OpenSearch cluster
            name = generations.live(self.cluster, self.layout)
            if name is None:
                self._view = None
                raise IndexMissing(
                    f"no index {self.layout.alias!r} on the OpenSearch cluster at "
                    f"{self.settings.where}; run `searchsvc reindex` first"
                )
            if self._view is None or self._view.name != name:
                self._view = OpenSearchView(self.cluster, self.layout, name, self.ranking)
            self._checked = time.monotonic()
            return self._view

    def forget(self, name: str) -> None:
        """A view's generation was deleted under it: look the alias up on the next request."""
        with self._lock:
            if self._view is not None and self._view.name == name:
                self._checked = 0.0

    def has_index(self) -> bool:
        return generations.live(self.cluster, self.layout) is not None

    def reindex(self, corpus_paths, full=False, lock_timeout=0.0, progress=None):
        from searchsvc.engine.opensearch import reindexing

        return reindexing.reindex(
            self, [Path(p) for p in corpus_paths], full=full, lock_timeout=lock_timeout,
            progress=progress,
        )  # fmt: skip


def _count(config, name: str, default: int, minimum: int) -> int:
    """opensearch_<name> from the configuration (checked by config.py), else `default`."""
    value = config.get("opensearch_" + name)
    if value is None:
        return default
    if not isinstance(value, int) or value < minimum:
        raise ValueError(f"opensearch_{name} must be a whole number of at least {minimum}")
    return value
