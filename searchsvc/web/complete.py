"""Search as you type: GET /api/complete?q= -> word completions and matching headlines.

Small and fast by design: the last word is completed from the index's own
vocabulary (most frequent first), and headlines are the best articles whose
title has every typed word, the last one as a prefix. Its own caps bound the
work: the text's length, the words before the last one, and the completions
of the last one searched for (docs/limits.md).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from searchsvc.params import ParameterError
from searchsvc.text.querylang import LAST_WORD, normalise
from searchsvc.web import view

blueprint = Blueprint("complete", __name__)

MAX_COMPLETE_LENGTH = 200  # characters; a box being typed in, not a pasted document
WORDS, HEADLINES = 5, 5
MIN_PREFIX = 3  # without the vocabulary, shorter prefixes expand to too many terms
MAX_PREFIX = 40  # characters of the last word completed; longer is no word of the index


@blueprint.get("/api/complete")
def complete():
    raw = request.args.get("q") or ""
    if len(raw) > MAX_COMPLETE_LENGTH:
        raise ParameterError(
            "query_too_long", f"q is {len(raw)} characters; the limit is {MAX_COMPLETE_LENGTH}"
        )
    text = normalise(raw)
    answer = {"query": text, "words": [], "headlines": []}
    last = LAST_WORD.search(text) if text and not raw.endswith(" ") else None
    if last is None or not 2 <= len(last.group(1)) <= MAX_PREFIX:
        return jsonify(answer)
    if '"' in text or ":" in last.group(0):
        return jsonify(answer)
    current = view()
    head, prefix = text[: last.start(1)], last.group(1).lower()
    vocabulary = current.vocabulary()
    if vocabulary is not None:
        answer["words"] = [head + word for word in vocabulary.completions(prefix, WORDS)]
    # With the vocabulary the last word is a few likely completions, cheap from two letters.
    if len(prefix) >= (2 if vocabulary is not None else MIN_PREFIX):
        answer["headlines"] = current.headlines(head, prefix, HEADLINES)
    return jsonify(answer)
