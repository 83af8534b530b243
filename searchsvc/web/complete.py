"""Search as you type: GET /api/complete?q= -> word completions and matching headlines.

Small and fast by design: the last word is completed from the index's own
vocabulary (most frequent first), and headlines are the best articles whose
title has every typed word, the last one as a prefix. Its own caps bound the
work: the text's length, the words before the last one, and the completions
of the last one searched for (docs/limits.md).
"""

from __future__ import annotations

import json
import re

from flask import Blueprint, jsonify, request
from whoosh import query as Q

from searchsvc.discovery.spelling import vocabulary_for
from searchsvc.engine.embedded.arrayrank import rank
from searchsvc.engine.embedded.querying import normalise
from searchsvc.params import ParameterError
from searchsvc.search import article_path
from searchsvc.web import snapshot

blueprint = Blueprint("complete", __name__)

MAX_COMPLETE_LENGTH = 200  # characters; a box being typed in, not a pasted document
WORDS, HEADLINES = 5, 5
MIN_PREFIX = 3  # without the vocabulary, shorter prefixes expand to too many terms
COMPLETIONS_SEARCHED = 8  # completions of the last word looked for in headlines
EXPANDED_PREFIX_TERMS = 16  # without the vocabulary: the commonest terms the prefix starts
SCANNED_PREFIX_TERMS = 2_000  # index terms looked at to find them
HEAD_WORDS = 8  # words before the last one that headlines must have: the last typed
MAX_PREFIX = 40  # characters of the last word completed; longer is no word of the index
# Clauses of one headline query: the head's words and the last word's completions.
MAX_HEADLINE_CLAUSES = HEAD_WORDS + max(COMPLETIONS_SEARCHED, EXPANDED_PREFIX_TERMS)
_LAST = re.compile(r"(?:^|\s)([^\W\d_]+)$")


@blueprint.get("/api/complete")
def complete():
    raw = request.args.get("q") or ""
    if len(raw) > MAX_COMPLETE_LENGTH:
        raise ParameterError(
            "query_too_long", f"q is {len(raw)} characters; the limit is {MAX_COMPLETE_LENGTH}"
        )
    text = normalise(raw)
    answer = {"query": text, "words": [], "headlines": []}
    last = _LAST.search(text) if text and not raw.endswith(" ") else None
    if last is None or not 2 <= len(last.group(1)) <= MAX_PREFIX:
        return jsonify(answer)
    if '"' in text or ":" in last.group(0):
        return jsonify(answer)
    searcher, _ = snapshot().searchers()
    head, prefix = text[: last.start(1)], last.group(1).lower()
    vocabulary = vocabulary_for(searcher)
    if vocabulary is not None:
        answer["words"] = [head + word for word in vocabulary.completions(prefix, WORDS)]
    # With the vocabulary the last word is a few likely completions, cheap from two letters.
    if len(prefix) >= (2 if vocabulary is not None else MIN_PREFIX):
        answer["headlines"] = _headlines(searcher, head, prefix, vocabulary)
    return jsonify(answer)


def _headlines(searcher, head: str, prefix: str, vocabulary) -> list[dict]:
    analyzer = searcher.schema["title"].analyzer
    found: list[dict] = []
    seen: set[str] = set()
    for field in ("title", "body"):
        query = headline_query(searcher.reader(), field, head, prefix, vocabulary, analyzer)
        # Scored with arrays, as searches are: Whoosh's collector stepped through every
        # article with "of" and "said" one at a time (1-2 s on Reuters for "of AND said s").
        for docnum, _score in rank(searcher, query.normalize(), HEADLINES).top:
            record = json.loads(searcher.stored_fields(docnum)["record"])
            if record["id"] in seen:
                continue
            seen.add(record["id"])
            title = record.get("title") or record["id"]
            found.append({"title": title, "url": article_path(record["id"])})
        if len(found) >= HEADLINES:
            break
    return found[:HEADLINES]


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
