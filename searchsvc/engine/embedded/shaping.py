"""The parsed query, shaped for ranking: words as BM25F terms, weighted by repetition.

A word typed for the headline and the text (`Term('title', w)` and
`Term('body', w)` side by side in an any-word part) becomes one
ranking.Word, so the two fields' evidence saturates together (BM25F), and a
word said three times in a long request weighs three times as much. A text
longer than `key_words` distinct words is searched by its key words: the
most repeated and rarest.

`every_word` says what else a match of a short query must match to be
counted (total and facets): each word typed (docs/query-language.md).
"""

from __future__ import annotations

from collections import Counter

from whoosh import query as Q

from searchsvc.engine.embedded.ranking import Word, idf
from searchsvc.text.querylang import NEGATING, TEXT_FIELDS, combining_operators

# A query of at most this many words counts the articles that have all of them.
MAX_COUNTED_WORDS = 3


def shape(query: Q.Query, text: str, searcher, key_words: int) -> Q.Query:
    """`query` with its any-word parts' headline-and-text words as ranking.Word clauses."""
    analyzer = searcher.schema["body"].analyzer
    counts = Counter(token.text for token in analyzer(text))
    return _shape(query, counts, searcher, key_words)


def _shape(query: Q.Query, counts: Counter, searcher, key_words: int) -> Q.Query:
    if isinstance(query, (Q.AndNot, Q.AndMaybe)):
        shaped = query.__class__(_shape(query.a, counts, searcher, key_words), query.b)
        shaped.boost = query.boost
        return shaped
    if isinstance(query, Q.And):
        parts = [_shape(child, counts, searcher, key_words) for child in query.subqueries]
        return Q.And(parts, boost=query.boost)
    if not isinstance(query, Q.Or):
        return query
    query = query.normalize()  # nested any-word parts (corrections added to the typed words)
    return _words(query, counts, searcher, key_words) if isinstance(query, Q.Or) else query


def _words(query: Q.Or, counts: Counter, searcher, key_words: int) -> Q.Query:
    """Pair each word's headline and text terms into a Word; other clauses stay as they are."""
    terms: dict[tuple[str, str], Q.Term] = {}
    for clause in query.subqueries:
        if isinstance(clause, Q.Term) and clause.fieldname in TEXT_FIELDS:
            terms.setdefault((clause.fieldname, clause.text), clause)
    words, others = [], []
    for clause in query.subqueries:
        if not (isinstance(clause, Q.Term) and clause.fieldname in TEXT_FIELDS):
            others.append(clause)
            continue
        title, body = terms.get(("title", clause.text)), terms.get(("body", clause.text))
        if title is None or body is None or not body.boost:
            others.append(clause)
        elif clause is body:
            weight = title.boost / body.boost
            boost = body.boost * max(1, counts.get(clause.text, 0))
            words.append(Word([Q.Term("title", clause.text), Q.Term("body", clause.text)],
                              boost=boost, weights=(weight, 1.0)))  # fmt: skip
    if not words:
        return query
    if len(words) > key_words:
        words = _key_words(words, searcher, key_words)
    return Q.Or(words + others, boost=query.boost)


def _key_words(words: list[Word], searcher, key_words: int) -> list[Word]:
    """The `key_words` words of most weight: times said, times their IDF."""

    def weight(word: Word) -> float:
        df = max(searcher.doc_frequency(field, word.text) for field in TEXT_FIELDS)
        return word.boost * idf(searcher, df)

    kept = set(sorted(words, key=lambda word: (-weight(word), word.text))[:key_words])
    return [word for word in words if word in kept]


def every_word(query: Q.Query, text: str, searcher) -> Q.And | None:
    """What an article that `query` matches must also match to count: each word of its
    any-word part (a word, phrase or wildcard), or None when every match counts.

    None when an operator is typed, the part has more than MAX_COUNTED_WORDS words or
    a clause of another kind, or requiring them changes nothing. Corrections and
    completions that typo tolerance added are not required: they stand in for a typed
    word that no article has.
    """
    if combining_operators(text) - NEGATING:  # `oil NOT gas` counts as `oil -gas`
        return None
    words = _any_word_part(query)
    if words is None:
        return None
    typed = {token.text for token in searcher.schema["body"].analyzer(text)}
    units: dict[tuple, list[Q.Query]] = {}
    added = []
    for clause in words.subqueries:
        key = _unit(clause)
        if key[0] == "word" and key[1] not in typed:
            added.append(clause)  # a correction or completion
        else:
            units.setdefault(key, []).append(clause)
    if not units or len(units) > MAX_COUNTED_WORDS or (len(units) == 1 and not added):
        return None
    reader = searcher.reader()
    required = []
    for key, group in units.items():
        if added and key[0] == "word" and not _in_archive(key[1], reader):
            if len(units) == 1:
                return None  # one word no article has, and its corrections: the query itself
            group = group + added  # a misspelled or unfinished word: its corrections count
        required.append(Q.Or(group) if len(group) > 1 else group[0])
    return Q.And(required)


def _any_word_part(query: Q.Query) -> Q.Or | None:
    """The any-word part of `query`, beside its filters and exclusions; None if it has none
    or its clauses are not all words, phrases and wildcards."""
    if isinstance(query, Q.AndNot):
        return _any_word_part(query.a)
    if isinstance(query, Q.And):
        parts = [part for part in map(_any_word_part, query.subqueries) if part is not None]
        return parts[0] if len(parts) == 1 else None
    if isinstance(query, Q.Or) and all(_unit(clause) for clause in query.subqueries):
        return query
    return None


def _unit(clause: Q.Query) -> tuple | None:
    """What `clause` asks for, the same in headline and text: a word, a phrase, a wildcard."""
    if isinstance(clause, Word) or (isinstance(clause, Q.Term) and clause.fieldname in TEXT_FIELDS):
        return ("word", clause.text)
    if isinstance(clause, Q.Phrase) and clause.fieldname in TEXT_FIELDS:
        return ("phrase", tuple(clause.words), clause.slop)
    if isinstance(clause, Q.MultiTerm) and getattr(clause, "fieldname", None) in TEXT_FIELDS:
        return ("wildcard", clause.text)  # querying.Expansion: its pattern as typed
    return None


def _in_archive(word: str, reader) -> bool:
    return any((field, word) in reader for field in TEXT_FIELDS)
