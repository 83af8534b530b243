"""The engine interface: what the rest of searchsvc asks of a search engine.

An Engine owns an index (a directory of generations for the embedded Whoosh
engine, an alias of indices for OpenSearch). Readers ask it for a view of the
current generation and search that; the operator's reindex builds a new
generation and makes it current in one step. Nothing above this package
imports Whoosh or the OpenSearch client: they meet the engine only here.

Errors are the model's (searchsvc.model.errors): IndexMissing and
IndexIncompatible when there is nothing usable to search, EngineUnavailable
when the engine cannot answer now. Each is a 503 on the web, a one-line error
on the command line.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from searchsvc.model.articles import Article
from searchsvc.model.results import Ranked, SearchRequest
from searchsvc.text.vocabulary import Vocabulary


class ParagraphScorer(Protocol):
    """Scores one paragraph for snippets as the engine would score it."""

    def score(self, counts: dict[str, int], length: int) -> float: ...


class EngineView(ABC):
    """One generation of an engine, open for reading.

    Views are shared by the threads of a process; release() after each request
    gives back what the calling thread borrowed (searchers, connections).
    """

    info: dict  # what the generation says of itself: built_at, articles, paragraphs, ...

    @abstractmethod
    def rank(self, request: SearchRequest) -> Ranked:
        """The page `request` asks for, with the total and facets of every match."""

    @abstractmethod
    def article(self, article_id: str) -> Article | None:
        """The stored article with this id, or None."""

    @abstractmethod
    def related(self, article: Article) -> list[dict]:
        """Other articles most like `article`, best first (id, title, date, source, url, score)."""

    @abstractmethod
    def headlines(self, head: str, prefix: str, limit: int) -> list[dict]:
        """For search as you type: the best articles whose headline (then body) has every
        word of `head` and a word starting with `prefix`, as {title, url}."""

    @abstractmethod
    def vocabulary(self) -> Vocabulary | None:
        """The archive's unstemmed words (spelling, completion); None while not yet counted."""

    @abstractmethod
    def paragraph_stats(self) -> ParagraphScorer:
        """A fresh scorer of paragraphs for one request's snippets."""

    @abstractmethod
    def health(self) -> dict:
        """What /healthz reports: articles, paragraphs, built_at and the generation's name."""

    def release(self) -> None:  # noqa: B027 (an engine that lends nothing keeps this)
        """Give back what the calling thread borrowed for its request."""


class Engine(ABC):
    """A search engine holding searchsvc's index."""

    name: str

    @abstractmethod
    def view(self) -> EngineView:
        """The current generation, opened for reading (cheap when it has not changed)."""

    @abstractmethod
    def has_index(self) -> bool:
        """Whether there is a generation to search."""

    @abstractmethod
    def reindex(
        self,
        corpus_paths: Sequence[Path],
        full: bool = False,
        lock_timeout: float = 0.0,
        progress: Callable[[int], None] | None = None,
    ):
        """Bring the index in line with the corpus; returns the run's ReindexReport.

        Raises FileNotFoundError for a missing corpus path, ReindexBusy when another
        run holds the lock, ReindexFailed when the run failed and the index served
        before still serves (searchsvc.index.store)."""
