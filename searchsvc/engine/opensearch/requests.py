"""One request against the OpenSearch engine, step for step as engine/embedded/answers.py.

Parse, widen with typo corrections, shape, filter, search; for a long request,
search once for the best ten, feed their words back and search again. The
statistics each step asks for are fetched in one round trip before it runs
(prefetch), so a query costs two or three calls to the cluster, not one per word.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import replace

from whoosh import classify
from whoosh import query as Q

from searchsvc.engine.embedded import completion, feedback, typos
from searchsvc.engine.embedded.answers import _with_filters
from searchsvc.engine.embedded.querying import ParsedQuery, normalise, parse, text_terms
from searchsvc.engine.embedded.related import (
    KEY_TERMS,
    MIN_RELATIVE_SCORE,
    RELATED_COUNT,
    TEXT_CHARS,
    _start,
)
from searchsvc.engine.embedded.shaping import shape
from searchsvc.engine.opensearch import aggregations
from searchsvc.engine.opensearch.documents import doc_id
from searchsvc.engine.opensearch.translate import NOTHING, Translator
from searchsvc.model.articles import Article
from searchsvc.model.errors import EngineUnavailable
from searchsvc.model.results import Ranked, SearchRequest, article_path
from searchsvc.text.analysis import term_spans

SEARCH_ATTEMPTS = 3  # a search that fails on the cluster is tried again, twice at most
RETRY_PAUSE = 0.25  # seconds before each retry
BY_RELEVANCE = [{"_score": "desc"}, {"seq": "asc"}]  # ties: the earlier indexed first
BY_DATE = [{"date": {"order": "desc", "missing": "_last"}}, {"seq": "desc"}]
# Lucene's default limit on a query's leaf clauses (indices.query.bool.max_clause_count).
MAX_CLAUSES = 1_024
_LEAVES = {"term", "terms", "span_term", "match_phrase", "range", "match_all", "ids"}


def rank(view, request: SearchRequest) -> Ranked:
    """The page of articles `request` asks for, with the total and facets of every match."""
    parsed, corrected, query = _understood(view, request, request.q)
    dsl = Translator(view.reader(), view.lead_weight(), view.info["baking"]).dsl(query)
    if _clauses(dsl) > MAX_CLAUSES:
        # More clauses than the cluster takes (a few hundred words in nested groups): the
        # text is searched as plain words, as querying.py searches text past its bounds.
        plain = " ".join(request.q[start:end].lower() for _, start, end in term_spans(request.q))
        parsed, corrected, query = _understood(view, request, plain)
        dsl = Translator(view.reader(), view.lead_weight(), view.info["baking"]).dsl(query)
    by_date = request.sort == "date" or parsed.match_all
    body = {
        "query": dsl,
        "from": (request.page - 1) * request.size,
        "size": request.size,
        "sort": BY_DATE if by_date else BY_RELEVANCE,
        "track_total_hits": True,
        "_source": ["record"],
        "aggs": aggregations.requested(view.info),
    }
    answer = search(view, body)
    days = None
    span = aggregations.needs_days(answer.get("aggregations", {}))
    if span is not None:
        by_day = {"query": body["query"], "size": 0, "track_total_hits": False,
                  "aggs": {"dates": aggregations.histogram("day")}}  # fmt: skip
        days = search(view, by_day)["aggregations"]["dates"]
    page = [
        (_article(hit), None if by_date else float(hit["_score"])) for hit in answer["hits"]["hits"]
    ]
    return Ranked(
        text=parsed.text,
        terms=parsed.terms,
        total=answer["hits"]["total"]["value"],
        page=page,
        facets=aggregations.facets(answer.get("aggregations", {}), view.info, days),
        corrected=corrected,
        match_all=parsed.match_all,
    )


def _understood(view, request: SearchRequest, text: str):
    """(parsed query, whether only corrections matched, the query to run) as answers.py has them."""
    settings = view.ranking
    reader = view.reader()
    view.stats.prefetch(_stems(normalise(text)))
    parsed = typed = parse(text, view.parser, reader)
    if settings.typo_tolerance:
        parsed = _tolerate_typos(view, typed, reader)
    corrected = parsed is not typed and not typed.terms
    shaped = shape(parsed.article_query, parsed.text, reader, settings.key_words)
    query = _with_filters(shaped, request)
    by_date = request.sort == "date" or parsed.match_all
    if not by_date and _may_feed_back(query, settings):
        query = _fed_back(view, query)
    return parsed, corrected, query


def _clauses(dsl) -> int:
    """Leaf clauses of a DSL query, as Lucene counts them against its clause limit."""
    if isinstance(dsl, list):
        return sum(_clauses(item) for item in dsl)
    if not isinstance(dsl, dict):
        return 0
    leaves = sum(1 for key in dsl if key in _LEAVES)
    return leaves + sum(_clauses(value) for key, value in dsl.items() if key not in _LEAVES)


def search(view, body: dict) -> dict:
    """One search of the view's generation: complete or an error (a node that stops under a
    search fails it; the copies on the other nodes answer the retry)."""
    for attempt in range(1, SEARCH_ATTEMPTS + 1):
        try:
            answer = view.cluster.call("search", index=view.name, body=body,
                                       allow_partial_search_results=False,
                                       search_type=view.search_type)  # fmt: skip
            if not answer["_shards"].get("failed"):
                return answer
            failure = EngineUnavailable(f"{answer['_shards']['failed']} shards failed a search")
        except EngineUnavailable as error:
            failure = error
        if attempt < SEARCH_ATTEMPTS:
            time.sleep(RETRY_PAUSE)
    raise failure


def _article(hit: dict) -> Article:
    return Article.from_dict(json.loads(hit["_source"]["record"]))


def _stems(text: str) -> set[str]:
    return {term for term, _, _ in term_spans(text)}


def _tolerate_typos(view, parsed: ParsedQuery, reader) -> ParsedQuery:
    """answers._tolerate_typos, with the corrections' statistics fetched at once."""
    if parsed.match_all:
        return parsed
    clauses = typos.tolerant_clauses(parsed.text, reader, view.vocabulary())
    if not clauses:
        return parsed
    view.stats.prefetch(clause.text for clause in clauses)
    query = typos.widen(parsed.article_query, clauses)
    terms = parsed.terms.union(*(text_terms(clause, reader) for clause in clauses))
    return replace(parsed, article_query=query, terms=terms)


def _may_feed_back(query: Q.Query, settings) -> bool:
    """feedback.expand's first test: enough distinct words typed for feedback to apply."""
    words = {word.text for word in feedback.words_of(query) if word.boost >= 1}
    return bool(settings.feedback_words) and len(words) >= settings.feedback_words


def _fed_back(view, query: Q.Query) -> Q.Query:
    """The query widened with the words of its best first answers (feedback.py), or as it is."""
    settings = view.ranking
    body = {
        "query": Translator(view.reader(), view.lead_weight(), view.info["baking"]).dsl(query),
        "size": settings.feedback_docs,
        "sort": BY_RELEVANCE,
        "track_total_hits": False,
        "_source": ["record"],
    }
    hits = search(view, body)["hits"]["hits"]
    records = {number: hit["_source"]["record"] for number, hit in enumerate(hits)}
    top = [(number, float(hit["_score"])) for number, hit in enumerate(hits)]
    view.stats.prefetch(_record_stems(records.values()))
    widened = feedback.expand(query, top, view.reader(records), settings)
    return query if widened is None else widened


def _record_stems(records: Iterable[str]) -> set[str]:
    stems: set[str] = set()
    for record in records:
        stems |= _stems("\n\n".join(json.loads(record).get("paragraphs") or []))
    return stems


def related(view, article: Article, count: int = RELATED_COUNT) -> list[dict]:
    """related.related_articles over the cluster: the article's key words, Bo1-weighted
    from the generation's statistics, searched as body words."""
    text = _start("\n\n", [article.title, *article.paragraphs], TEXT_CHARS)
    view.stats.prefetch(_stems(text))
    reader = view.reader()
    expander = classify.Expander(reader, "body", model=classify.Bo1Model)
    expander.add_text(text)
    key_terms = expander.expanded_terms(KEY_TERMS, normalize=False)
    if not key_terms:
        return []
    query = Q.Or([Q.Term("body", word, boost=weight) for word, weight in key_terms])
    dsl = Translator(reader, view.lead_weight(), view.info["baking"]).dsl(query)
    if dsl is NOTHING:
        return []
    body = {
        "query": {"bool": {"must": [dsl], "must_not": [{"ids": {"values": [doc_id(article.id)]}}]}},
        "size": count,
        "sort": BY_RELEVANCE,
        "track_total_hits": False,
        "_source": ["record"],
    }
    found, best = [], None
    for hit in search(view, body)["hits"]["hits"]:
        score = float(hit["_score"])
        best = score if best is None else best
        if score < best * MIN_RELATIVE_SCORE:
            break  # what is left shares only a word or two in passing
        record = json.loads(hit["_source"]["record"])
        found.append(
            {
                "id": record["id"],
                "title": record.get("title") or record["id"],
                "date": record.get("date"),
                "source": record.get("source"),
                "url": article_path(record["id"]),
                "score": round(score, 4),
            }
        )
    return found


def headlines(view, head: str, prefix: str, limit: int) -> list[dict]:
    """completion.headlines over the cluster: the same queries, searched there."""
    reader = view.reader()
    analyzer = reader.schema["title"].analyzer
    view.stats.prefetch(_stems(head))
    vocabulary = view.vocabulary()
    translator = Translator(reader, view.lead_weight(), view.info["baking"])
    found: list[dict] = []
    seen: set[str] = set()
    for field in ("title", "body"):
        query = completion.headline_query(reader, field, head, prefix, vocabulary, analyzer)
        body = {"query": translator.dsl(query.normalize()), "size": limit,
                "sort": BY_RELEVANCE, "track_total_hits": False, "_source": ["record"]}  # fmt: skip
        for hit in search(view, body)["hits"]["hits"]:
            record = json.loads(hit["_source"]["record"])
            if record["id"] in seen:
                continue
            seen.add(record["id"])
            found.append({"title": record.get("title") or record["id"],
                          "url": article_path(record["id"])})  # fmt: skip
        if len(found) >= limit:
            break
    return found[:limit]
