"""Every search as an Atom feed, a CSV file and JSON Lines: /search.atom, .csv, .jsonl.

The parameters are the search page's (q, since, until, source, sort); page and
size are ignored. Exports hold the first EXPORT_LIMIT hits; the feed the
newest FEED_ENTRIES.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, render_template, request

from searchsvc.model.articles import parse_date
from searchsvc.params import search_request
from searchsvc.search import search
from searchsvc.web import settings, view

blueprint = Blueprint("feeds", __name__)

EXPORT_LIMIT = 1_000  # most hits in a CSV or JSON Lines export
FEED_ENTRIES = 50  # entries in an Atom feed, newest first
EXPORT_FIELDS = (
    "rank", "id", "title", "date", "source", "score", "url", "source_url", "versions",
)  # fmt: skip
# Characters XML 1.0 cannot hold at all, escaped or not (most C0 controls, lone
# surrogates, U+FFFE/U+FFFF): article text may contain them, a feed must not.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _run(limit: int, snippets: int, sort: str | None = None):
    config = settings()
    args = {k: v for k, v in request.args.items() if k not in ("page", "size")}
    search_args = search_request(args, config)
    limit = min(limit, config.max_result_window)
    search_args = replace(search_args, page=1, size=limit, snippets=snippets)
    if sort:
        search_args = replace(search_args, sort=sort)
    return search(view(), search_args)


def _root() -> str:
    """The configured public address, or "" for links relative to this site.

    Never the request's Host header: behind a shared cache, one client could
    plant another host in the links everyone is served.
    """
    return settings().public_url


def _rows(result):
    root = _root()
    for rank, hit in enumerate(result.hits, 1):
        yield {
            "rank": rank,
            "id": hit.id,
            "title": hit.title,
            "date": hit.date,
            "source": hit.source,
            "score": hit.score,
            "url": root + hit.url,
            "source_url": hit.source_url,
            # A story's other versions, so a collapsed export still names every article.
            "versions": [version["id"] for version in hit.versions],
        }


def _download(body: str, mimetype: str, name: str, result) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Total-Count"] = str(result.total)
    response.headers["X-Export-Limit"] = str(EXPORT_LIMIT)
    return response


@blueprint.get("/search.csv", endpoint="csv")
def csv_export():
    result = _run(EXPORT_LIMIT, snippets=0)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for row in _rows(result):
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return _download(out.getvalue(), "text/csv", "search.csv", result)


@blueprint.get("/search.jsonl", endpoint="jsonl")
def jsonl_export():
    result = _run(EXPORT_LIMIT, snippets=0)
    body = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in _rows(result))
    return _download(body, "application/x-ndjson", "search.jsonl", result)


@blueprint.get("/search.atom")
def atom():
    result = _run(FEED_ENTRIES, snippets=1, sort="date")
    built = _rfc3339(view().info.get("built_at")) or _rfc3339(datetime.now(UTC).isoformat())
    root = _root()
    entries = [
        {
            "hit": hit,
            "id": "urn:searchsvc:article:" + quote(hit.id, safe=""),
            "link": root + hit.url,
            "updated": _rfc3339(hit.date) or built,
        }
        for hit in result.hits
    ]
    updated = max((entry["updated"] for entry in entries), default=built)
    page_args = urlencode(
        {k: v for k, v in request.args.items() if v and k not in ("page", "size")}
    )
    body = render_template(
        "feed.atom.xml",
        result=result,
        entries=entries,
        updated=updated,
        feed_id="urn:searchsvc:search:" + quote(page_args, safe=""),
        self_url=root + "/search.atom" + ("?" + page_args if page_args else ""),
        html_url=root + "/search" + ("?" + page_args if page_args else ""),
    )
    return Response(_NOT_XML.sub("", body), mimetype="application/atom+xml")


def _rfc3339(text: str | None) -> str | None:
    if not text:
        return None
    try:
        moment, _ = parse_date(text)
    except ValueError:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _cell(value):
    """Spreadsheets run cells that start with = + - @ as formulas; make those text."""
    if isinstance(value, list):  # ids: separated by spaces, as one cell
        value = " ".join(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value
