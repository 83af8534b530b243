"""What the search box text becomes: word groups, stopwords, filters, ranking clauses."""

from __future__ import annotations

import pytest
from whoosh import query as Q
from whoosh.filedb.filestore import RamStorage

from searchsvc.querying import QueryError, make_parser, parse
from searchsvc.ranking import Coordinated, RankingSettings
from searchsvc.schema import article_schema


@pytest.fixture(scope="module")
def reader():
    ix = RamStorage().create_index(article_schema())
    with ix.writer() as writer:
        writer.add_document(id="a", title="Oil prices", body="Oil prices rose.", record="{}")
    with ix.searcher() as searcher:
        yield searcher.reader()


def parsed(text, reader, **ranking):
    parser = make_parser(article_schema(), 2.0, RankingSettings(**ranking))
    return parse(text, parser, reader)


def leaves(query):
    return [query] if query.is_leaf() else list(query.leaves())


def test_question_words_leave_the_any_word_part(reader):
    query = parsed("What did the oil minister say about prices?", reader).article_query
    assert {leaf.text for leaf in leaves(query)} == {"oil", "minist", "say", "price"}


def test_words_that_carry_meaning_in_news_are_not_pruned(reader):
    query = parsed("Will the US raise rates in May?", reader).article_query
    assert {leaf.text for leaf in leaves(query)} == {"will", "us", "rais", "rate", "may"}


def test_only_stopwords_are_kept_when_nothing_else_is_left(reader):
    query = parsed("what is it", reader).article_query
    assert {leaf.text for leaf in leaves(query)} == {"what", "is", "it"}


def test_coordination_groups_each_word_across_headline_and_body(reader):
    query = parsed("oil prices", reader, coordination=1.0).article_query
    assert isinstance(query, Coordinated) and query.exponent == 1.0
    groups = [{(leaf.fieldname, leaf.text) for leaf in leaves(group)} for group in query]
    assert groups == [{("title", "oil"), ("body", "oil")}, {("title", "price"), ("body", "price")}]


def test_a_single_word_needs_no_coordination(reader):
    query = parsed("oil", reader, coordination=1.0).article_query
    assert not isinstance(query, Coordinated)


def test_proximity_adds_near_phrase_clauses_for_neighbouring_words(reader):
    query = parsed("oil prices rise", reader, proximity_boost=0.2, proximity_slop=4).article_query
    phrases = [clause for clause in query.subqueries if isinstance(clause, Q.Phrase)]
    assert [tuple(p.words) for p in phrases] == [("oil", "price"), ("price", "rise")]
    assert all(p.slop == 4 and p.boost == 0.2 for p in phrases)


def test_filters_stay_required_with_the_ranking_clauses(reader):
    query = parsed("oil prices source:reuters", reader, coordination=1.0).article_query
    assert isinstance(query, Q.And)
    assert Q.Term("source", "reuters") in list(query.subqueries)
    assert any(isinstance(clause, Coordinated) for clause in query.subqueries)


def test_terms_for_highlighting_include_coordinated_words(reader):
    assert parsed("oil prices", reader, coordination=1.0).terms == {"oil", "price"}


@pytest.mark.parametrize("text", ["date:[foo to bar]", "oil date:[2017 to someday]"])
def test_unreadable_dates_are_a_query_error(reader, text):
    with pytest.raises(QueryError, match="not a date"):
        parsed(text, reader)
