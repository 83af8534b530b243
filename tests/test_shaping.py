"""Query shaping for ranking (BM25F words, repetition, key words) and pseudo-relevance feedback."""

from __future__ import annotations

import pytest
from whoosh import query as Q

from searchsvc.config import load_config
from searchsvc.engine.embedded import feedback
from searchsvc.engine.embedded.feedback import expand, words_of
from searchsvc.engine.embedded.querying import parse
from searchsvc.engine.embedded.ranking import RankingSettings, Word
from searchsvc.engine.embedded.shaping import shape
from searchsvc.engine.embedded.snapshot import IndexHandle
from searchsvc.search import SearchRequest, search


@pytest.fixture
def snapshot(index_dir):
    return IndexHandle(index_dir).snapshot()


def _shaped(snapshot, text, key_words=64):
    searcher, _ = snapshot.searchers()
    parsed = parse(text, snapshot.parser, searcher.reader())
    return shape(parsed.article_query, parsed.text, searcher, key_words)


@pytest.mark.parametrize(
    ("text", "words", "others"),
    [
        # (word, boost) per Word; other clauses' types. A repeated word weighs more.
        ("cocoa prices", [("cocoa", 1.0), ("price", 1.0)], []),
        ("cocoa prices cocoa Cocoa", [("cocoa", 3.0), ("price", 1.0)], []),
        ('"central bank" rates', [("rate", 1.0)], [Q.Phrase, Q.Phrase]),
        ("title:cocoa prices", [("price", 1.0)], [Q.Term]),
        ("cocoa -drought", [("cocoa", 1.0)], []),
    ],
)
def test_headline_and_text_terms_become_one_word(snapshot, text, words, others):
    query = _shaped(snapshot, text)
    found = words_of(query)
    assert [(w.text, w.boost) for w in found] == words
    headline = load_config().title_boost
    assert all(w.weights == (headline, 1.0) for w in found)  # the configured headline boost
    leaves = query.a if isinstance(query, Q.AndNot) else query
    rest = [c for c in getattr(leaves, "subqueries", [leaves]) if not isinstance(c, Word)]
    assert [type(c) for c in rest] == others


def test_a_long_text_is_searched_by_its_key_words(snapshot):
    text = "cocoa cocoa cocoa drought drought bank police officer rates harvest weather"
    kept = [w.text for w in words_of(_shaped(snapshot, text, key_words=3))]
    assert len(kept) == 3 and kept[:2] == ["cocoa", "drought"]  # said most often
    assert len(words_of(_shaped(snapshot, text))) == 8


def test_text_longer_than_the_query_language_limit_is_still_searched(snapshot):
    # A pasted paragraph of about 2,000 characters, as some judged requests are.
    text = ("Cocoa prices rose sharply as drought hit the Bahia zone; " * 35).strip()
    result = search(snapshot, SearchRequest(q=text, size=3, snippets=0))
    assert len(text) > 1_900 and result.hits[0].id == "wire-1"


def test_feedback_leaves_short_queries_alone(snapshot):
    searcher, _ = snapshot.searchers()
    query = _shaped(snapshot, "cocoa prices")
    assert expand(query, [(0, 1.0)], searcher, RankingSettings()) is None
    long = _shaped(snapshot, "cocoa prices drought bahia zone harvest traders weather")
    assert expand(long, [(0, 1.0)], searcher, RankingSettings(feedback_words=0)) is None
    assert expand(long, [], searcher, RankingSettings()) is None


def test_feedback_adds_words_of_the_top_articles_with_a_share_of_the_weight(snapshot):
    searcher, _ = snapshot.searchers()
    text = "stabbed assailant shot near houses parliament ambulance casualties"
    query = _shaped(snapshot, text)
    # The two articles about police officers, as the first search would rank them.
    police = [
        n for n in range(searcher.doc_count()) if "police" in searcher.stored_fields(n)["record"]
    ]
    top = [(number, 5.0 - rank) for rank, number in enumerate(police)]
    assert len(top) == 2
    settings = RankingSettings(feedback_terms=3, feedback_weight=0.5)
    widened = expand(query, top, searcher, settings)
    added = words_of(widened)[len(words_of(query)) :]
    assert 0 < len(added) <= 3 and "polic" in {w.text for w in added}
    assert sum(w.boost for w in added) == pytest.approx(0.5 * 8)  # half the query's 8 words
    # Only words found in more than one article are worth adding.
    assert all(searcher.doc_frequency("body", w.text) >= 2 for w in added)


def test_feedback_counts_only_the_words_typed(snapshot, monkeypatch):
    searcher, _ = snapshot.searchers()
    typo = Word([Q.Term("title", "rain"), Q.Term("body", "rain")], boost=0.3)
    query = Q.Or([*words_of(_shaped(snapshot, "cocoa prices drought bahia zone")), typo])
    assert expand(query, [(0, 1.0)], searcher, RankingSettings()) is None
    monkeypatch.setattr(feedback, "CANDIDATES", 0)  # nothing to add: the query stays
    long = _shaped(snapshot, "cocoa prices drought bahia zone harvest traders weather")
    assert expand(long, [(0, 1.0)], searcher, RankingSettings()) is None
