"""The JSON API: /api/search, /api/articles/<id>, /healthz, /api/openapi.json."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from searchsvc.params import search_request
from searchsvc.search import article_dict, article_extras, get_article, search
from searchsvc.web import settings, view
from searchsvc.web.openapi import openapi_document

blueprint = Blueprint("api", __name__)


@blueprint.get("/api/search")
def api_search():
    config = settings()
    search_args = search_request(request.args, config)
    result = search(view(), search_args)
    return jsonify(result.to_dict())


@blueprint.get("/api/articles/<path:article_id>")
def api_article(article_id: str):
    current = view()
    article = get_article(current, article_id)
    if article is None:
        abort(404, description=f"no article with id {article_id!r}")
    return jsonify(article_dict(article) | article_extras(current, article))


@blueprint.get("/healthz")
def healthz():
    return jsonify({"status": "ok", **view().health()})


@blueprint.get("/api/openapi.json")
def openapi():
    return jsonify(openapi_document(settings()))
