"""The match set behind totals and facets: exactly the documents Whoosh says a query matches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from whoosh import query as Q

from searchsvc import segments
from searchsvc.filtercache import cached_ranges
from searchsvc.indexer import reindex
from searchsvc.matchset import matching_docs
from searchsvc.querying import parse
from searchsvc.search import SearchRequest, search
from searchsvc.snapshot import IndexHandle

QUERIES = [
    "zebra",
    "zebra report",
    "report -zebra",
    "zebra AND report",
    "zebra OR giraffe OR report",
    '"annual report"',
    '"annual report" zebra',
    "title:zebra",
    "source:wire report",
    "repo*",
    "report date:2001",
    "date:2001..2002 zebra",
    "nothingmatchesthis",
    "zebra -report -giraffe",
]


def _record(number: int, title: str, body: str, year: int, source: str) -> str:
    date = f"{year}-0{1 + number % 9}-1{number % 10}"
    return json.dumps(
        {"id": f"a{number}", "title": title, "body": body, "date": date, "source": source}
    )


def _write_corpus(path: Path, first: int, count: int) -> None:
    """Articles where a few rank high for `zebra` and many only mention `report` once."""
    lines = []
    for number in range(first, first + count):
        if number % 100 < 12:  # first in the index, so ranking has its top 3 early
            title, body = "Zebra zebra", "The zebra herd. " * (2 + number % 7)
        else:
            filler = " ".join(f"word{number}x{i}" for i in range(60))
            title, body = f"Item {number}", f"{filler} the annual report came out. giraffe"
        source = "wire" if number % 3 else "paper"
        lines.append(_record(number, title, body, 2000 + number % 3, source))
    path.write_text("\n".join(lines) + "\n", "utf-8")


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Path:
    """Two segments (an incremental run added one) and deleted documents in the first."""
    root = tmp_path_factory.mktemp("matchset")
    corpus = root / "corpus"
    corpus.mkdir()
    _write_corpus(corpus / "one.jsonl", 0, 60)
    reindex([corpus], root / "ix")
    _write_corpus(corpus / "two.jsonl", 100, 40)
    lines = (corpus / "one.jsonl").read_text("utf-8").splitlines()
    (corpus / "one.jsonl").write_text("\n".join(lines[:45]) + "\n", "utf-8")  # 15 deleted
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segments, "SMALL_SEGMENT_DOCS", 0)  # keep the small first segment
        reindex([corpus], root / "ix")
    return root / "ix"


@pytest.mark.parametrize("text", QUERIES)
def test_match_set_is_what_whoosh_matches(index, text):
    snapshot = IndexHandle(index).snapshot()
    searcher, _ = snapshot.searchers()
    assert len(searcher.reader().leaf_readers()) > 1 and searcher.reader().has_deletions()
    query = cached_ranges(parse(text, snapshot.parser, searcher.reader()).article_query)
    assert matching_docs(searcher, query) == set(query.docs(searcher))


def test_total_counts_every_match_even_when_ranking_skips_them(index, monkeypatch):
    """Ranking never looks at most `report`-only articles; the total still counts them.

    Whoosh's own count undercounts here (only the zebra articles): once the top 3
    score above anything `report` alone can reach, its matcher drops that
    branch, so the count misses the articles only in it.
    """
    # As on indexes over 5,000 documents: Or as a tree of unions, which Whoosh prunes.
    monkeypatch.setattr(Q.Or, "matcher_type", Q.Or.DEFAULT_MATCHER)
    snapshot = IndexHandle(index).snapshot()
    searcher, _ = snapshot.searchers()
    result = search(snapshot, SearchRequest(q="zebra report", size=3))
    expected = {
        searcher.stored_fields(d)["id"]
        for d in searcher.document_numbers()
        if searcher.stored_fields(d)  # every live article mentions zebra or report
    }
    assert result.total == len(expected) == 45 + 40
    assert result.total_exact
    assert sum(bucket["count"] for bucket in result.facets["date"]["buckets"]) == result.total
    assert [hit.title for hit in result.hits] == ["Zebra zebra"] * 3


def test_facet_ties_are_listed_alphabetically(index):
    snapshot = IndexHandle(index).snapshot()
    sources = search(snapshot, SearchRequest(q="zebra OR giraffe")).facets["source"]
    counts = [(-entry["count"], entry["value"]) for entry in sources]
    assert counts == sorted(counts)


def test_long_any_word_queries_rank_the_same_scored_a_window_at_a_time(index, monkeypatch):
    """search._for_ranking's array union gives the binary union's hits and scores."""
    from searchsvc import search as search_module

    monkeypatch.setattr(Q.Or, "matcher_type", Q.Or.DEFAULT_MATCHER)  # as on a large index
    snapshot = IndexHandle(index).snapshot()
    for text in (
        "zebra report giraffe annual herd",
        "what did the annual report say about the zebra herd",
        '"annual report" zebra giraffe herd',
    ):
        request = SearchRequest(q=text, size=20)
        arrayed = search(snapshot, request)
        monkeypatch.setattr(search_module, "_for_ranking", lambda query: query)
        plain = search(snapshot, request)
        monkeypatch.undo()
        monkeypatch.setattr(Q.Or, "matcher_type", Q.Or.DEFAULT_MATCHER)
        assert [(h.id, h.score) for h in arrayed.hits] == [(h.id, h.score) for h in plain.hits]
        assert arrayed.total == plain.total and arrayed.hits
    query = snapshot.parser.parse("zebra report giraffe annual herd")
    assert search_module._for_ranking(query).matcher_type == Q.Or.ARRAY_MATCHER
    short = snapshot.parser.parse("zebra report")
    assert search_module._for_ranking(short) is short  # two words: the binary union
