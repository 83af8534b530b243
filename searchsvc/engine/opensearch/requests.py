"""One request against the OpenSearch engine, step for step as engine/embedded/answers.py.

Parse, widen with typo corrections, shape, filter, search; for a long request,
search once for the best ten, feed their words back and search again. The
statistics each step asks for are fetched in one round trip before it runs
(prefetch), so a query costs two or three calls to the cluster, not one per word.
Near-duplicate versions of a story fold into one hit as embedded/stories.py
folds them, and count once: as the matching version with the first id.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import replace

from whoosh import classify
from whoosh import query as Q

from searchsvc.engine.embedded import completion, feedback, stories, typos
from searchsvc.engine.embedded.answers import _with_filters
from searchsvc.engine.embedded.querying import ParsedQuery, normalise, parse, text_terms
from searchsvc.engine.embedded.related import (
    KEY_TERMS,
    MIN_RELATIVE_SCORE,
    RELATED_COUNT,
    TEXT_CHARS,
    _start,
)
from searchsvc.engine.embedded.shaping import every_word, shape
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
STORY_PAGE = 10_000  # grouped matches read per call when working out which versions count


def rank(view, request: SearchRequest) -> Ranked:
    """The page of articles `request` asks for, with the total and facets of every match."""
    try:
        plan = _Plan.of(view, request, request.q)
    except _TooManyClauses:
        # More clauses than the cluster takes (a few hundred words in nested groups): the
        # text is searched as plain words, as querying.py searches text past its bounds.
        plain = " ".join(request.q[start:end].lower() for _, start, end in term_spans(request.q))
        plan = _Plan.of(view, request, plain)
    if request.collapse:
        return _collapsed(view, plan, request)
    start = (request.page - 1) * request.size
    hits, total, counted = plan.ordered(start, request.size, aggregations.requested(view.info))
    page = [(_article(hit), None if plan.by_date else float(hit["_score"])) for hit in hits]
    return Ranked(
        text=plan.parsed.text,
        terms=plan.parsed.terms,
        total=total,
        page=page,
        facets=aggregations.facets(counted, view.info, _days(view, plan.counted_dsl(), counted)),
        corrected=plan.corrected,
        match_all=plan.parsed.match_all,
        versions=[[] for _ in page],
        counts="articles",
    )


def _days(view, counted_dsl: dict, counted: dict) -> dict | None:
    """The day histogram, when the matches were counted by month but span two at most."""
    if aggregations.needs_days(counted) is None:
        return None
    by_day = {"query": counted_dsl, "size": 0, "aggs": {"dates": aggregations.histogram("day")}}
    return search(view, by_day)["aggregations"]["dates"]


def _collapsed(view, plan: _Plan, request: SearchRequest) -> Ranked:
    """rank() with a story's versions as one hit, counted once (embedded/stories.py)."""
    counted_dsl, counted = plan.stories_counted(aggregations.requested(view.info))
    wanted = request.page * request.size
    asked = stories.first_depth(wanted)  # versions take places: one call, not two
    while True:
        top = plan.top(asked)
        numbers = [hit["_source"].get("story", stories.NO_STORY) for hit in top]
        entries, enough = stories.fold([(hit, hit.get("_score")) for hit in top], numbers, wanted)
        if enough or len(top) < asked:
            break
        # Versions take places in the ranking: ask for half as many again, and more.
        asked = asked * 2
    entries = entries[(request.page - 1) * request.size : wanted]
    versions = plan.versions([hit for hit, _ in entries])
    page = [(_article(hit), None if plan.by_date else float(hit["_score"])) for hit, _ in entries]
    return Ranked(
        text=plan.parsed.text,
        terms=plan.parsed.terms,
        total=counted["hits"]["total"]["value"],
        page=page,
        facets=aggregations.facets(
            counted.get("aggregations", {}),
            view.info,
            _days(view, counted_dsl, counted.get("aggregations", {})),
        ),  # fmt: skip
        corrected=plan.corrected,
        match_all=plan.parsed.match_all,
        versions=versions,
        counts="stories",
    )


class _TooManyClauses(Exception):
    """The translated query has more leaf clauses than the cluster accepts."""


class _Plan:
    """One request's query as answers.py runs it: parsed, widened, shaped, filtered, fed back;
    a short query counts the articles with every word (shaping.every_word) and, sorted by
    date, lists them first."""

    def __init__(self, view, request: SearchRequest, text: str):
        settings = view.ranking
        self.view = view
        reader = view.reader()
        view.stats.prefetch(_stems(normalise(text)))
        self.parsed = typed = parse(text, view.parser, reader)
        if settings.typo_tolerance:
            self.parsed = _tolerate_typos(view, typed, reader)
        # None of the words as typed is in the archive: whatever is found, corrections found.
        self.corrected = self.parsed is not typed and not typed.terms
        shaped = shape(self.parsed.article_query, self.parsed.text, reader, settings.key_words)
        self.query = _with_filters(shaped, request)
        self.by_date = request.sort == "date" or self.parsed.match_all
        every = every_word(self.query, self.parsed.text, reader)
        # What is counted: the matches with every word, of the query as typed (before feedback).
        self.counted = None if every is None else Q.Require(self.query, every)
        self.rest = None if every is None else Q.AndNot(self.query, every)

    @classmethod
    def of(cls, view, request: SearchRequest, text: str) -> _Plan:
        plan = cls(view, request, text)
        if not plan.by_date and _may_feed_back(plan.query, view.ranking):
            first = {"query": plan.dsl(plan.query), "size": view.ranking.feedback_docs,
                     "sort": BY_RELEVANCE, "_source": ["record"]}  # fmt: skip
            plan.query = _fed_back(view, plan.query, search(view, first)["hits"]["hits"])
        plan.counted_dsl()  # raises _TooManyClauses now, not halfway through the searches
        return plan

    def dsl(self, query: Q.Query) -> dict:
        view = self.view
        dsl = Translator(view.reader(), view.lead_weight(), view.info["baking"]).dsl(query)
        if _clauses(dsl) > MAX_CLAUSES:
            raise _TooManyClauses
        return dsl

    def counted_dsl(self) -> dict:
        """The query whose matches are counted: those with every word, when there are any."""
        return self.dsl(self.query if self.counted is None else self.counted)

    def ordered(self, start: int, size: int, aggs: dict):
        """(hits start..start+size, total, aggregations), as answers.rank_request has them."""
        sort = BY_DATE if self.by_date else BY_RELEVANCE
        counted = None
        if self.counted is not None:
            # Counted, with facets, first; sorted by date, they are also the page's head.
            body = {"query": self.counted_dsl(), "from": start, "sort": sort, "aggs": aggs,
                    "size": size if self.by_date else 0, "_source": ["record"]}  # fmt: skip
            counted = search(self.view, body)
            if not counted["hits"]["total"]["value"]:
                self.counted = counted = None  # no article has every word: all are counted
        if counted is None:
            body = {"query": self.dsl(self.query), "from": start, "size": size, "sort": sort,
                    "aggs": aggs, "_source": ["record"]}  # fmt: skip
            answer = search(self.view, body)
            return (
                answer["hits"]["hits"],
                answer["hits"]["total"]["value"],
                answer.get("aggregations", {}),
            )
        total = counted["hits"]["total"]["value"]
        if not self.by_date:  # ranked as any word: the page is the whole query's
            body = {"query": self.dsl(self.query), "from": start, "size": size, "sort": sort,
                    "_source": ["record"]}  # fmt: skip
            return search(self.view, body)["hits"]["hits"], total, counted.get("aggregations", {})
        hits = counted["hits"]["hits"]
        if len(hits) < size:
            # The page reaches past the counted articles: the others follow them, by date.
            rest = {"query": self.dsl(self.rest), "from": max(0, start - total),
                    "size": size - len(hits), "sort": sort, "_source": ["record"]}  # fmt: skip
            hits = hits + search(self.view, rest)["hits"]["hits"]
        return hits, total, counted.get("aggregations", {})

    def stories_counted(self, aggs: dict) -> tuple[dict, dict]:
        """(the query counted, its answer: total and aggregations) with each story once."""
        while True:
            dsl = self._one_per_story(self.counted_dsl())
            answer = search(self.view, {"query": dsl, "size": 0, "aggs": aggs})
            if answer["hits"]["total"]["value"] or self.counted is None:
                return dsl, answer
            self.counted = None  # no article has every word: all are counted

    def _one_per_story(self, dsl: dict) -> dict:
        """`dsl` less each story's matching versions after the one with the first id."""
        first: dict[int, tuple[int, str]] = {}  # story -> (place, key) of its first version
        keys: list[str] = []
        body = {"query": {"bool": {"must": [dsl], "filter": [{"exists": {"field": "story"}}]}},
                "size": STORY_PAGE, "sort": [{"seq": "asc"}], "_source": False,
                "docvalue_fields": ["story", "story_place"]}  # fmt: skip
        while True:
            hits = search(self.view, body)["hits"]["hits"]
            for hit in hits:
                story, place = hit["fields"]["story"][0], hit["fields"]["story_place"][0]
                keys.append(hit["_id"])
                if story not in first or place < first[story][0]:
                    first[story] = (place, hit["_id"])
            if len(hits) < STORY_PAGE:
                break
            body = {**body, "search_after": hits[-1]["sort"]}
        counting = {key for _, key in first.values()}
        left_out = [key for key in keys if key not in counting]
        if not left_out:
            return dsl
        return {"bool": {"must": [dsl], "must_not": [{"ids": {"values": left_out}}]}}

    def top(self, depth: int) -> list[dict]:
        """The first `depth` hits in the order asked for (by date, the counted ones first)."""
        sort = BY_DATE if self.by_date else BY_RELEVANCE
        fields = ["record", "story"]
        if self.counted is None or not self.by_date:
            body = {"query": self.dsl(self.query), "size": depth, "sort": sort, "_source": fields}
            return search(self.view, body)["hits"]["hits"]
        body = {"query": self.counted_dsl(), "size": depth, "sort": sort, "_source": fields}
        hits = search(self.view, body)["hits"]["hits"]
        if len(hits) < depth:
            rest = {"query": self.dsl(self.rest), "size": depth - len(hits), "sort": sort,
                    "_source": fields}  # fmt: skip
            hits = hits + search(self.view, rest)["hits"]["hits"]
        return hits

    def versions(self, hits: list[dict]) -> list[list[Article]]:
        """Each hit's story's other matching versions, in the order of their ids."""
        numbers = {hit["_source"]["story"] for hit in hits if "story" in hit["_source"]}
        found: dict[int, list[tuple[int, dict]]] = {}
        if numbers:
            dsl = {"bool": {"must": [self.dsl(self.query)],
                            "filter": [{"terms": {"story": sorted(numbers)}}]}}  # fmt: skip
            body = {"query": dsl, "size": STORY_PAGE, "_source": ["record", "story", "story_place"]}
            for hit in search(self.view, body)["hits"]["hits"]:
                source = hit["_source"]
                found.setdefault(source["story"], []).append((source["story_place"], hit))
        listed = []
        for hit in hits:
            others = sorted(found.get(hit["_source"].get("story"), []), key=lambda pair: pair[0])
            listed.append([_article(other) for _, other in others if other["_id"] != hit["_id"]])
        return listed


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
    search fails it; the copies on the other nodes answer the retry).

    Every match is counted (track_total_hits), which turns off Lucene's skipping of
    blocks it thinks cannot reach the page: with the scripted similarity its bounds are
    wrong, and at 10x Reuters 6 of a top 60 went missing without it.
    """
    body = {**body, "track_total_hits": True}
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


def _fed_back(view, query: Q.Query, hits: list[dict]) -> Q.Query:
    """The query widened with the words of its best first answers (feedback.py), or as it is."""
    records = {number: hit["_source"]["record"] for number, hit in enumerate(hits)}
    top = [(number, float(hit["_score"])) for number, hit in enumerate(hits)]
    view.stats.prefetch(_record_stems(records.values()))
    widened = feedback.expand(query, top, view.reader(records), view.ranking)
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
                "sort": BY_RELEVANCE, "_source": ["record"]}  # fmt: skip
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
