"""What a user types -> Whoosh queries: one to rank articles, terms to pick snippets.

The syntax is the search-box one: words (any may match; more matches rank
higher), "quoted phrases", -excluded words, OR/AND/NOT, title:, source:,
topic: and date: (date:2017, date:[2017-01 to 2017-06]), and `*` for a
prefix. A question mark is punctuation, not a wildcard, so questions work.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from whoosh import query as Q
from whoosh.qparser import (
    FieldAliasPlugin,
    MultifieldParser,
    OrGroup,
    PlusMinusPlugin,
    QueryParser,
    WildcardPlugin,
)
from whoosh.qparser.dateparse import DateParserPlugin
from whoosh.util.times import TimeError

from searchsvc.analysis import stop_stems
from searchsvc.ranking import Coordinated, RankingSettings, body_words, proximity_clauses

TEXT_FIELDS = ("title", "body")
FILTER_FIELDS = {"source", "date", "topic"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class QueryError(ValueError):
    """The query cannot be understood; the message says why, for the user."""


class _StarWildcardPlugin(WildcardPlugin):
    qmarks = ""
    expr = r"(?P<text>[*])"


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # the query as understood, whitespace-normalised
    article_query: Q.Query
    terms: frozenset[str]  # analysed words to look for in paragraphs and headlines
    match_all: bool  # nothing to rank by: every article matches


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    return " ".join(_CONTROL.sub(" ", text).split())


def make_parser(schema, title_boost: float, ranking: RankingSettings | None = None) -> QueryParser:
    parser = MultifieldParser(
        list(TEXT_FIELDS), schema, fieldboosts={"title": title_boost}, group=OrGroup
    )
    # The ranking settings shape the parsed query's any-word part (see parse()).
    parser.ranking = ranking or RankingSettings()
    # `?` is punctuation in a question, not a wildcard: only `*` is (replace_plugin() would
    # keep Whoosh's own WildcardPlugin, which turned "prices?" into a pattern that finds nothing).
    parser.remove_plugin_class(WildcardPlugin)
    parser.add_plugin(_StarWildcardPlugin())
    # "-word" excludes only at the start of a word, so "2017-03" and "e-mail" stay whole.
    parser.add_plugin(PlusMinusPlugin(plusexpr=r"(?<![^\s(])\+", minusexpr=r"(?<![^\s(])-"))
    parser.add_plugin(DateParserPlugin(free=False))
    parser.add_plugin(FieldAliasPlugin({"topic": ["topics"], "title": ["headline"]}))
    return parser


def parse(text: str, parser: QueryParser, reader) -> ParsedQuery:
    """Parse the user's text; raises QueryError when it cannot mean anything sensible."""
    text = normalise(text)
    if not text:
        return ParsedQuery("", Q.Every(), frozenset(), match_all=True)
    try:
        parsed = parser.parse(text)
    except (TimeError, ValueError) as error:
        raise QueryError(f"a date in the query is not a date: {error}") from None
    except Exception as error:
        # Whoosh raises a bare Exception for a date range it cannot read (date:[foo to bar]).
        if type(error) is not Exception:
            raise
        raise QueryError(f"a date in the query is not a date: {error}") from None
    parsed = _refine(parsed, getattr(parser, "ranking", None) or RankingSettings())
    return ParsedQuery(text, parsed, text_terms(parsed, reader), match_all=False)


def text_terms(query: Q.Query, reader) -> frozenset[str]:
    """The words of the query (wildcards expanded) that occur in the headline or body.

    Query.existing_terms() is not used: in whoosh3 3.54 its loop variable
    shadows its `fieldname` argument, so it drops every field after the first.
    """
    found = set()
    for leaf in query.leaves():
        for field, word in leaf.expanded_terms(reader, phrases=True):
            if field in TEXT_FIELDS and isinstance(word, str) and (field, word) in reader:
                found.add(word)
    return frozenset(found)


def _refine(query: Q.Query, ranking: RankingSettings) -> Q.Query:
    """Shape the parsed query the way a search box user means it.

    Field restrictions on metadata (source:, date:, topic:) filter rather than
    compete with words: "oil source:reuters" means oil, from Reuters. Function
    words leave the any-word part unless nothing else is left.
    """
    if isinstance(query, (Q.AndNot, Q.AndMaybe)):
        refined = query.__class__(_refine(query.a, ranking), query.b)
        refined.boost = query.boost
        return refined
    if not isinstance(query, Q.Or):
        return query
    filters = [child for child in query.subqueries if _is_filter(child)]
    words = [child for child in query.subqueries if not _is_filter(child)]
    kept = [child for child in words if not _is_stop_clause(child)] or words
    ranked = _rank(kept, query.boost, ranking) if kept else None
    if not filters:
        return ranked
    required = _combine_filters(filters)
    return Q.And([ranked, required]) if ranked is not None else required


def _rank(clauses: list[Q.Query], boost: float, ranking: RankingSettings) -> Q.Query:
    """The any-word part: optionally coordinated per word, plus near-phrase clauses."""
    groups = _word_groups(clauses)
    if ranking.coordination > 0 and len(groups) > 1:
        subqueries = [Q.Or(group).normalize() for group in groups]
        words = Coordinated(subqueries, boost=boost, exponent=ranking.coordination)
    else:
        words = Q.Or(clauses, boost=boost).normalize()
    near = []
    if ranking.proximity_boost > 0:
        near = proximity_clauses(
            body_words(clauses), ranking.proximity_boost, ranking.proximity_slop
        )
    return Q.Or([words, *near]).normalize() if near else words


def _word_groups(clauses: list[Q.Query]) -> list[list[Q.Query]]:
    """One group per query word: the same analysed word in headline and body is one word."""
    groups: dict[object, list[Q.Query]] = {}
    for clause in clauses:
        key = clause.text if isinstance(clause, Q.Term) else id(clause)
        groups.setdefault(key, []).append(clause)
    return list(groups.values())


def _combine_filters(filters: list[Q.Query]) -> Q.Query:
    """Alternatives on one field widen (source:a source:b); different fields narrow."""
    by_field: dict[str, list[Q.Query]] = {}
    for clause in filters:
        by_field.setdefault(_fields(clause).pop(), []).append(clause)
    groups = [Q.Or(group).normalize() for group in by_field.values()]
    return groups[0] if len(groups) == 1 else Q.And(groups)


def _fields(query: Q.Query) -> set[str | None]:
    leaves = [query] if query.is_leaf() else list(query.leaves())
    return {getattr(leaf, "fieldname", None) for leaf in leaves}


def _is_filter(query: Q.Query) -> bool:
    fields = _fields(query)
    return len(fields) == 1 and fields <= FILTER_FIELDS


# Function words elsewhere, content words in news: the US, May, a will, a can. Kept in
# queries (bbc-titles MRR@10 +0.003, Reuters titles +0.001, questions unchanged).
NEWS_CONTENT_WORDS = frozenset({"us", "may", "will", "can", "might", "shall"})


def _is_stop_clause(query: Q.Query) -> bool:
    stops = stop_stems() - NEWS_CONTENT_WORDS
    if isinstance(query, Q.Term):
        return query.fieldname in TEXT_FIELDS and query.text in stops
    return False
