"""The parsed query, shaped for ranking: words as BM25F terms, weighted by repetition.

A word typed for the headline and the text (`Term('title', w)` and
`Term('body', w)` side by side in an any-word part) becomes one
ranking.Word, so the two fields' evidence saturates together (BM25F), and a
word said three times in a long request weighs three times as much. A text
longer than `key_words` distinct words is searched by its key words: the
most repeated and rarest.
"""

from __future__ import annotations

from collections import Counter

from whoosh import query as Q

from searchsvc.engine.embedded.ranking import Word, idf
from searchsvc.text.querylang import TEXT_FIELDS


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
