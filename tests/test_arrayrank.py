"""Ranking with arrays: Whoosh's matches and scores for every document, window and totals."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from whoosh import query as Q
from whoosh.codec.whoosh3 import W3Codec
from whoosh.fields import TEXT

from searchsvc.engine.embedded import arrayrank
from searchsvc.engine.embedded.arrayrank import rank
from searchsvc.engine.embedded.datecolumn import cached_ranges
from searchsvc.engine.embedded.feedback import words_of
from searchsvc.engine.embedded.querying import parse
from searchsvc.engine.embedded.ranking import RankingSettings
from searchsvc.engine.embedded.shaping import shape
from searchsvc.engine.embedded.snapshot import IndexHandle
from searchsvc.index import schema, segments
from searchsvc.index.codec import PackedCodec, PackedPositions
from searchsvc.index.indexer import reindex
from searchsvc.search import SearchRequest, search

QUERIES = [
    "zebra",
    "zebra report",
    "report -zebra",
    "zebra AND report",
    "zebra OR giraffe OR report",
    '"annual report"',
    '"annual report" zebra',
    '"annual report came"',
    '"zebra herd"',
    '"herd zebra"',
    '"zebra zebra"',
    '"the zebra herd"',
    '"zebra herd"~3',
    '"herd zebra"~2',
    '"annual report" -"report came"',
    'title:"zebra zebra"',
    "title:zebra",
    "source:wire report",
    "repo*",
    "zebra OR w*",  # Whoosh buffers a wildcard of many words in an ArrayUnionMatcher
    "report date:2001",
    "date:2001..2002 zebra",
    "nothingmatchesthis",
    "zebra -report -giraffe",
    "repo* ANDNOT re*",  # B covers A: Whoosh's AndNotMatcher walked all of A when built
    "zebra ANDNOT report",
    "(zebra OR report) ANDNOT giraffe",
    "title:zebra ANDNOT (report OR herd)",
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
    """Two segments (an incremental run added one), deleted documents in the first, and
    posting lists of many blocks."""
    root = tmp_path_factory.mktemp("arrayrank")
    corpus = root / "corpus"
    corpus.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segments, "PackedCodec", lambda: PackedCodec(blocklimit=8))
        _write_corpus(corpus / "one.jsonl", 0, 60)
        reindex([corpus], root / "ix")
        _write_corpus(corpus / "two.jsonl", 100, 40)
        lines = (corpus / "one.jsonl").read_text("utf-8").splitlines()
        (corpus / "one.jsonl").write_text("\n".join(lines[:45]) + "\n", "utf-8")  # 15 deleted
        patch.setattr(segments, "SMALL_SEGMENT_DOCS", 0)  # keep the small first segment
        reindex([corpus], root / "ix")
    return root / "ix"


def _parsed(snapshot, text):
    """The query as search() ranks it: parsed, words shaped as BM25F terms, ranges cached."""
    searcher, _ = snapshot.searchers()
    parsed = parse(text, snapshot.parser, searcher.reader())
    shaped = shape(parsed.article_query, parsed.text, searcher, snapshot.ranking.key_words)
    return searcher, cached_ranges(shaped)


def _walked(searcher, query) -> list[tuple[int, float]]:
    """Every match and its score, from Whoosh stepping its matcher tree document by document."""
    found = []
    for subsearcher, offset in searcher.leaf_searchers():
        context = subsearcher.context(needs_current=True, weighting=searcher.weighting)
        matcher = query.matcher(subsearcher, context)
        while matcher.is_active():
            found.append((offset + matcher.id(), matcher.score()))
            matcher.next()
    return found


@pytest.mark.parametrize("text", QUERIES)
def test_matches_and_scores_are_whooshs_document_at_a_time_answer(index, text):
    snapshot = IndexHandle(index).snapshot()
    searcher, query = _parsed(snapshot, text)
    assert len(searcher.reader().leaf_readers()) > 1 and searcher.reader().has_deletions()
    walked = _walked(searcher, query)
    ranking = rank(searcher, query, window=1_000)
    assert ranking.matched.tolist() == sorted(set(query.docs(searcher)))
    # The same floats, bit for bit, best first and ties to the lower document number.
    assert ranking.top == sorted(walked, key=lambda hit: (-hit[1], hit[0]))
    assert rank(searcher, query, window=3).top == ranking.top[:3]


def test_every_query_here_is_scored_with_arrays_none_walked(index, monkeypatch):
    def refuse(self, matcher):
        raise AssertionError(f"walked {type(matcher).__name__}")

    monkeypatch.setattr(arrayrank._Evaluator, "_walk", refuse)
    snapshot = IndexHandle(index).snapshot()
    for text in QUERIES:
        searcher, query = _parsed(snapshot, text)
        rank(searcher, query, window=10)


@pytest.mark.parametrize(
    "settings",
    [
        RankingSettings(coordination=1.5),  # Coordinated: per-document share of words matched
        RankingSettings(proximity_boost=0.5, proximity_slop=2),  # near-phrase clauses, walked
        RankingSettings(lead_words=0, title_b=0.3, k1=2.0),
    ],
)
def test_other_ranking_settings_score_as_whoosh_walks(index, settings):
    snapshot = IndexHandle(index, ranking=settings).snapshot()
    for text in ["zebra report giraffe", "annual report zebra herd", '"annual report" herd']:
        searcher, query = _parsed(snapshot, text)
        walked = _walked(searcher, query)
        assert walked
        assert rank(searcher, query, window=1_000).top == sorted(
            walked, key=lambda hit: (-hit[1], hit[0])
        )


@pytest.mark.parametrize("text", ["zebra report", "repo*", "zebra AND report", "report -zebra"])
def test_top_hits_are_whooshs_own_search_results(index, text):
    snapshot = IndexHandle(index).snapshot()
    searcher, query = _parsed(snapshot, text)
    results = searcher.search(query, limit=10, optimize=False)
    expected = [(results.docnum(i), results.score(i)) for i in range(results.scored_length())]
    assert rank(searcher, query, window=10).top == expected


@pytest.mark.parametrize(
    ("start", "end", "exclusive"),
    [
        (datetime(2001, 1, 1), datetime(2001, 12, 31, 23, 59), False),
        (datetime(2000, 3, 13), datetime(2002, 5, 15), True),  # bounds on article dates
        (None, datetime(2001, 6, 30), False),
        (datetime(2001, 6, 30), None, True),
        (datetime(1990, 1, 1), datetime(1990, 1, 2), False),  # nothing
    ],
)
def test_date_ranges_from_the_column_are_whooshs_ranges(index, start, end, exclusive):
    snapshot = IndexHandle(index).snapshot()
    searcher, _ = snapshot.searchers()
    whoosh = Q.DateRange("date", start, end, startexcl=exclusive, endexcl=exclusive)
    expected = set(whoosh.docs(searcher))  # NumericRange.docs() runs Whoosh's term expansion
    cached = cached_ranges(whoosh)
    found = set()
    for subsearcher, offset in searcher.leaf_searchers():
        segment = {offset + d for d in cached.matcher(subsearcher).all_ids()}
        assert cached.estimate_size(subsearcher.reader()) == len(segment)
        found |= segment
    assert found == expected


def test_by_date_is_newest_first_with_undated_last(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    # Four different articles: identical texts would be one story, shown once.
    records = [
        {"id": "old", "body": "Kansas wheat harvest starts early", "date": "1999-05-01"},
        {"id": "undated", "body": "Rain delays the wheat harvest in France"},
        {"id": "new", "body": "Australia expects a record wheat harvest", "date": "2021-01-02"},
        {"id": "same-day", "body": "Wheat prices fall as harvest nears", "date": "2021-01-02"},
    ]
    (corpus / "a.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n", "utf-8")
    reindex([corpus], tmp_path / "ix")
    snapshot = IndexHandle(tmp_path / "ix").snapshot()
    result = search(snapshot, SearchRequest(q="wheat", sort="date"))
    # Same day: the later indexed first, as Whoosh's sort breaks ties.
    assert [hit.id for hit in result.hits] == ["same-day", "new", "old", "undated"]
    assert all(hit.score is None for hit in result.hits)


def test_an_index_in_whoosh3s_own_layout_is_served_and_rebuilt_by_the_next_reindex(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _write_corpus(corpus / "one.jsonl", 0, 30)
    with pytest.MonkeyPatch.context() as patch:  # as versions before codec.py wrote it
        patch.setattr(segments, "PackedCodec", W3Codec)
        patch.setattr(schema, "_phrase_text", lambda analyzer: TEXT(analyzer, phrase=True))
        reindex([corpus], tmp_path / "ix")
    snapshot = IndexHandle(tmp_path / "ix").snapshot()
    for text in ['"annual report"', "zebra report", "report -zebra"]:
        searcher, query = _parsed(snapshot, text)
        walked = sorted(_walked(searcher, query), key=lambda hit: (-hit[1], hit[0]))
        assert walked and rank(searcher, query, window=1_000).top == walked
    report = reindex([corpus], tmp_path / "ix")
    assert "older version of searchsvc; rebuilt in full" in report.problems[0].reason
    assert report.added == 30 and not report.skipped
    searcher, _ = IndexHandle(tmp_path / "ix").snapshot().searchers()
    assert type(searcher.schema["body"].format) is PackedPositions


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
    # Articles, not stories: the fixture's articles repeat each other's words.
    result = search(snapshot, SearchRequest(q="zebra report", size=3, collapse=False))
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


@pytest.mark.parametrize("share", [0.0, 0.7, 1.0])
def test_words_with_lead_credit_score_as_whoosh_walks(index, monkeypatch, share):
    # The test articles are too short to measure their leads: the share is set here.
    monkeypatch.setattr(
        "searchsvc.engine.embedded.ranking.lead_share", lambda searcher, words: share
    )
    snapshot = IndexHandle(index, ranking=RankingSettings(lead_words=3)).snapshot()
    for text in ["zebra report giraffe", "annual herd zebra zebra", "title:zebra herd -report"]:
        searcher, query = _parsed(snapshot, text)
        assert words_of(query), query
        walked = _walked(searcher, query)
        assert walked
        assert rank(searcher, query, window=1_000).top == sorted(
            walked, key=lambda hit: (-hit[1], hit[0])
        )


def test_and_not_is_never_walked_when_built(index, monkeypatch):
    from whoosh import matching

    def refuse(self, *args, **kwargs):
        raise AssertionError("built Whoosh's AndNotMatcher, which walks A when built")

    monkeypatch.setattr(matching.AndNotMatcher, "__init__", refuse)
    snapshot = IndexHandle(index).snapshot()
    for text in ("repo* ANDNOT re*", "report -zebra", "zebra -report -giraffe"):
        searcher, query = _parsed(snapshot, text)
        rank(searcher, query, window=10)
