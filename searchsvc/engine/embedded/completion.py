"""Headlines for search as you type: the best articles with every typed word, the last
one as a prefix (web/complete.py asks for them through the engine view)."""

from __future__ import annotations

import json

from whoosh import query as Q

from searchsvc.engine.embedded.arrayrank import rank
from searchsvc.model.results import article_path

COMPLETIONS_SEARCHED = 8  # completions of the last word looked for in headlines
EXPANDED_PREFIX_TERMS = 16  # without the vocabulary: the commonest terms the prefix starts
SCANNED_PREFIX_TERMS = 2_000  # index terms looked at to find them
HEAD_WORDS = 8  # words before the last one that headlines must have: the last typed
# Clauses of one headline query: the head's words and the last word's completions.
MAX_HEADLINE_CLAUSES = HEAD_WORDS + max(COMPLETIONS_SEARCHED, EXPANDED_PREFIX_TERMS)


def headlines(searcher, head: str, prefix: str, vocabulary, limit: int) -> list[dict]:
    analyzer = searcher.schema["title"].analyzer
    found: list[dict] = []
    seen: set[str] = set()
    for field in ("title", "body"):
        query = headline_query(searcher.reader(), field, head, prefix, vocabulary, analyzer)
        # Scored with arrays, as searches are: Whoosh's collector stepped through every
        # article with "of" and "said" one at a time (1-2 s on Reuters for "of AND said s").
        for docnum, _score in rank(searcher, query.normalize(), limit).top:
            record = json.loads(searcher.stored_fields(docnum)["record"])
            if record["id"] in seen:
                continue
            seen.add(record["id"])
            title = record.get("title") or record["id"]
            found.append({"title": title, "url": article_path(record["id"])})
        if len(found) >= limit:
            break
    return found[:limit]


def headline_query(reader, field: str, head: str, prefix: str, vocabulary, analyzer) -> Q.Query:
    """Every one of the last HEAD_WORDS words of `head`, and the word being typed."""
    words = list(dict.fromkeys(token.text for token in analyzer(head)))[-HEAD_WORDS:]
    last = _last_word(reader, field, prefix, vocabulary, analyzer)
    return Q.And([*(Q.Term(field, word) for word in words), last])


def _last_word(reader, field: str, prefix: str, vocabulary, analyzer) -> Q.Query:
    """The word being typed: its likeliest completions from the vocabulary (so "pri"
    means price or prime, not a ticker "PRI"), else the commonest indexed terms it starts."""
    words = vocabulary.completions(prefix, COMPLETIONS_SEARCHED) if vocabulary else []
    if not words:
        return _commonest(reader, field, prefix)
    # Commoner completions weigh more: "oil pri" is about prices before private placements.
    top = vocabulary.counts[words[0]]
    boosts: dict[str, float] = {}
    for word in words:
        weight = (vocabulary.counts[word] / top) ** 0.5
        for token in analyzer(word):
            boosts[token.text] = max(boosts.get(token.text, 0.0), weight)
    if not boosts:
        return _commonest(reader, field, prefix)
    return Q.Or([Q.Term(field, stem, boost=boost) for stem, boost in sorted(boosts.items())])


def _commonest(reader, field: str, prefix: str) -> Q.Query:
    """The EXPANDED_PREFIX_TERMS most frequent index terms starting with `prefix`,
    chosen among the first SCANNED_PREFIX_TERMS (a prefix query would take them all)."""
    found = []
    for number, btext in enumerate(reader.expand_prefix(field, prefix)):
        if number >= SCANNED_PREFIX_TERMS:
            break
        found.append((-reader.doc_frequency(field, btext), btext))
    terms = [Q.Term(field, btext) for _df, btext in sorted(found)[:EXPANDED_PREFIX_TERMS]]
    return Q.Or(terms) if terms else Q.NullQuery
