"""The web UI, rendered on the server from the same result data as the API."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for

from searchsvc.params import search_request
from searchsvc.search import get_article, search
from searchsvc.web import settings, snapshot

blueprint = Blueprint("ui", __name__)


@blueprint.get("/")
@blueprint.get("/search")
def search_page():
    config = settings()
    args = request.args
    search_args = search_request(args, config)
    current = snapshot()
    asked = any(args.get(name) for name in ("q", "since", "until", "source"))
    result = search(current, search_args, config.max_result_window) if asked else None
    return render_template(
        "search.html",
        result=result,
        form=search_args,
        args=args,
        page_url=_page_url,
        info=current.info,
        max_page=config.max_result_window // search_args.size,
    )


@blueprint.get("/articles/<path:article_id>")
def article_page(article_id: str):
    article = get_article(snapshot(), article_id)
    if article is None:
        abort(404, description=f"There is no article with the id “{article_id}”.")
    return render_template("article.html", article=article, back_q=request.args.get("q", ""))


def _page_url(args, page: int) -> str:
    keep = {k: v for k, v in args.items() if v and k != "page"}
    return url_for("ui.search_page", **keep, page=page)
