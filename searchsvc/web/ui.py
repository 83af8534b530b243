"""The web UI, rendered on the server from the same result data as the API."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, abort, render_template, request, url_for

from searchsvc.discovery.snippets import mark_article
from searchsvc.model.results import SearchRequest
from searchsvc.params import search_request
from searchsvc.search import article_extras, get_article, search
from searchsvc.text.querylang import LAST_WORD, topics_in, without_topic
from searchsvc.web import settings, view
from searchsvc.web.timeline import timeline_svg

blueprint = Blueprint("ui", __name__)

KEPT_PARAMS = ("q", "since", "until", "source", "sort", "size", "filters", "collapse")


@blueprint.get("/")
@blueprint.get("/search")
def search_page():
    config = settings()
    args = request.args
    search_args = search_request(args, config)
    current = view()
    asked = any(args.get(name) for name in ("q", "since", "until", "source"))
    result = search(current, search_args) if asked else None
    fallback = None
    if result is not None and (result.total == 0 or result.corrected) and search_args.page == 1:
        fallback = _fallback(current, search_args, result)
    shown = fallback or result
    # Links (pages, facets, bars) continue the search whose results are shown.
    base_args = args.to_dict()
    if fallback:
        base_args["q"] = fallback.query
    timeline = timeline_svg(shown.facets.get("date") or {}, _range_link(base_args)) if shown else ""
    return render_template(
        "search.html",
        result=result,
        fallback=fallback,
        shown=shown,
        timeline=timeline,
        form=search_args,
        args=args,
        base_args=base_args,
        page_url=_page_url,
        with_url=_with_url,
        topics_in=topics_in,
        toggle_topic=_toggle_topic,
        info=current.info,
        max_page=config.max_result_window // search_args.size,
    )


@blueprint.get("/articles/<path:article_id>")
def article_page(article_id: str):
    current = view()
    article = get_article(current, article_id)
    if article is None:
        abort(404, description=f"There is no article with the id “{article_id}”.")
    extras = article_extras(current, article)
    q = request.args.get("q", "")
    marked = None
    if q.strip():
        # Opened from a result: the query's words marked as its snippets mark them, and
        # each paragraph an anchor for the snippets' links (#p-N), whatever the query.
        marked = mark_article(article.title, article.paragraphs, _query_terms(current, q))
    return render_template(
        "article.html",
        article=article,
        related=extras.get("related", []),
        back_q=q,
        marked=marked,
    )


def _query_terms(current, q: str) -> frozenset[str]:
    """The analysed words a search for `q` marks in its headlines and snippets."""
    return current.rank(SearchRequest(q=q, size=1, snippets=0)).terms


def _fallback(current, search_args, result):
    """When nothing matched: the corrected query's results, else the last word as a prefix."""
    candidates = []
    if result.suggestion:
        candidates.append(result.suggestion)
    last = LAST_WORD.search(result.query or "")
    if last and len(last.group(1)) >= 2 and '"' not in result.query:
        candidates.append(result.query + "*")
    for text in candidates:
        found = search(current, replace(search_args, q=text))
        if found.total:
            return found
    return None


def _kept(args) -> dict:
    return {k: v for k, v in args.items() if v and k in KEPT_PARAMS}


def _page_url(args, page: int) -> str:
    return url_for("ui.search_page", **_kept(args), page=page)


def _with_url(args, **changes) -> str:
    """This search with some parameters changed (None removes one), back on page 1."""
    kept = _kept(args)
    for name, value in changes.items():
        if value:
            kept[name] = value
        else:
            kept.pop(name, None)
    return url_for("ui.search_page", **kept)


def _range_link(args):
    def link(since: str, until: str) -> str:
        return _with_url(args, since=since, until=until)

    return link


def _toggle_topic(args, topic: str) -> str:
    """Topic filters live in the query (`topic:cocoa`): add this one, or take it out."""
    q = args.get("q") or ""
    if topic.lower() in topics_in(q):
        q = without_topic(q, topic)
    else:
        q = f"{q} topic:{topic}".strip()
    return _with_url(args, q=q)
