"""The OpenAPI 3 description of the JSON API, written by hand and kept true by a test.

tests/test_openapi.py runs schemathesis against the live app with this
document: every response must match it, and none may be a 500.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from searchsvc.params import MAX_SOURCE_LENGTH
from searchsvc.text.querylang import MAX_EXPANSIONS, MIN_WILDCARD_PREFIX

_NULLABLE_STRING = {"type": ["string", "null"]}

_ERROR = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable, for programs: bad_parameter, query_too_long, "
                    "page_too_deep, not_found, no_index, index_incompatible, "
                    "engine_unavailable, busy, ...",
                },
                "message": {"type": "string", "description": "For people."},
            },
        }
    },
}

_HIT = {
    "type": "object",
    "required": ["id", "title", "title_html", "title_derived", "date", "source", "score",
                 "snippets", "snippet_paragraphs", "url", "source_url"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string", "description": "Plain text."},
        "title_html": {"type": "string", "description": "HTML: matches in <mark>, rest escaped."},
        "title_derived": {"type": "boolean", "description": "Headline taken from the lead."},
        "date": {**_NULLABLE_STRING, "description": "ISO 8601, as precise as the source."},
        "source": _NULLABLE_STRING,
        "score": {
            "type": ["number", "null"],
            "description": "Relevance score; null when sorted by date.",
        },
        "snippets": {"type": "array", "items": {"type": "string"}, "maxItems": 100},
        "snippet_paragraphs": {
            "type": "array", "items": {"type": "integer", "minimum": 0}, "maxItems": 100,
            "description": "For each snippet, the index of its paragraph in the article's "
            "paragraphs; the article page's anchor #p-N.",
        },
        "url": {"type": "string", "description": "The article's page on this server."},
        "source_url": {**_NULLABLE_STRING, "description": "The original's address, if known."},
        "versions": {
            "type": "array",
            "description": "The story's other versions that match (near-duplicates: a re-send, "
            "a correction), in the order of their ids; empty with collapse=false.",
            "items": {
                "type": "object",
                "required": ["id", "title", "date", "source", "url"],
                "properties": {
                    "id": {"type": "string"}, "title": {"type": "string"},
                    "date": _NULLABLE_STRING, "source": _NULLABLE_STRING,
                    "url": {"type": "string"},
                },
            },
        },
    },
}  # fmt: skip

_SEARCH_RESULT = {
    "type": "object",
    "required": ["query", "total", "total_exact", "page", "size", "took_ms", "hits"],
    "properties": {
        "query": {"type": "string", "description": "The query as understood."},
        "total": {
            "type": "integer",
            "minimum": 0,
            "description": "The articles counted, as the facets count them: for a query of "
            "one to three words (no AND, OR, NOT, +), those with every word, unless none has; "
            "otherwise every match. Hits are not cut to them: by relevance they are ranked as "
            "any of the words would be, by date they come first, and either way the hits go "
            "on past the total with articles that have some of the words.",
        },
        "total_exact": {"type": "boolean", "description": "Always true: totals are exact."},
        "page": {"type": "integer", "minimum": 1},
        "size": {"type": "integer", "minimum": 1},
        "took_ms": {"type": "number", "minimum": 0},
        "hits": {"type": "array", "items": _HIT},
        "suggestion": {**_NULLABLE_STRING, "description": "A corrected query, or null."},
        "corrected": {
            "type": "boolean",
            "description": "No word as typed is in the archive: hits come from corrections.",
        },
        "facets": {"type": "object", "description": "Counts by source, topic and date."},
        "counts": {
            "type": "string", "enum": ["stories", "articles"],
            "description": "What total and facets count: stories (near-duplicate versions "
            "once, the default) or articles (collapse=false).",
        },
    },
}  # fmt: skip

_ARTICLE = {
    "type": "object",
    "required": ["id", "title", "title_derived", "date", "source", "author", "url",
                 "source_url", "paragraphs", "extra"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "title_derived": {"type": "boolean"},
        "date": _NULLABLE_STRING,
        "source": _NULLABLE_STRING,
        "author": _NULLABLE_STRING,
        "url": {"type": "string"},
        "source_url": _NULLABLE_STRING,
        "paragraphs": {"type": "array", "items": {"type": "string"}},
        "extra": {"type": "object", "description": "Any other fields the corpus gave."},
        "related": {"type": "array", "items": {"type": "object"}},
    },
}  # fmt: skip

_HEALTH = {
    "type": "object",
    "required": ["status", "articles", "paragraphs", "built_at", "generation"],
    "properties": {
        "status": {"const": "ok"},
        "articles": {"type": "integer", "minimum": 0},
        "paragraphs": {"type": "integer", "minimum": 0},
        "built_at": {"type": "string"},
        "generation": {"type": "string"},
    },
}

_COMPLETIONS = {
    "type": "object",
    "required": ["query", "words", "headlines"],
    "properties": {
        "query": {"type": "string"},
        "words": {"type": "array", "items": {"type": "string"}},
        "headlines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["title", "url"],
                "properties": {"title": {"type": "string"}, "url": {"type": "string"}},
            },
        },
    },
}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    texts = {
        400: "A parameter is out of its published limits (docs/limits.md).",
        404: "No such article.",
        503: "The index is not built yet.",
    }
    return {str(status): _json({"$ref": "#/components/schemas/Error"}, texts[status])
            for status in statuses}  # fmt: skip


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}  # fmt: skip


def openapi_document(config) -> dict:
    """The description, with the limits this server was configured with."""
    try:
        release = version("searchsvc")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        release = "0"
    search_parameters = [
        _query(
            "q",
            "The query: words, \"phrases\", -word, OR/AND/NOT, title:/source:/topic:/date:, "
            f"word* (at least {MIN_WILDCARD_PREFIX} letters before the *, else it is "
            f"punctuation; at most {MAX_EXPANSIONS} wildcards, further ones are plain words). "
            "Any text is searched: what the query language cannot read is taken as words.",
            {"type": "string", "maxLength": config.max_query_length},
        ),
        _query("page", "Page of results, from 1; page x size is at most "
               f"{config.max_result_window}.", {"type": "integer", "minimum": 1}),
        _query("size", "Hits per page.",
               {"type": "integer", "minimum": 1, "maximum": config.max_page_size}),
        _query("since", "Earliest date: 2017, 2017-03 or 2017-03-22."),
        _query("until", "Latest date, inclusive: until=2017 includes all of 2017."),
        _query("source", "Only articles from this source.",
               {"type": "string", "maxLength": MAX_SOURCE_LENGTH}),
        _query("sort", "relevance (default) or date (newest first).",
               {"type": "string", "enum": ["relevance", "date"]}),
        _query("collapse", "true (default): a story's near-duplicate versions are one hit, "
               "listed in its versions, and count once; false: every article.",
               {"type": "boolean"}),
    ]  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "searchsvc",
            "version": release,
            "description": "Full-text search over a news archive. Limits: docs/limits.md. "
            "An empty query parameter means its default.",
        },
        "paths": {
            "/api/search": {
                "get": {
                    "operationId": "search",
                    "summary": "Ranked articles with highlighted snippets",
                    "parameters": search_parameters,
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/SearchResult"}, "Results."),
                        **_errors(400, 503),
                    },
                }
            },
            "/api/articles/{article_id}": {
                "get": {
                    "operationId": "article",
                    "summary": "One article: metadata, paragraphs, extra fields, related",
                    "parameters": [
                        {
                            "name": "article_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1},
                        }
                    ],  # fmt: skip
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Article"}, "The article."),
                        **_errors(404, 503),
                    },
                }
            },
            "/api/complete": {
                "get": {
                    "operationId": "complete",
                    "summary": "Completions for a query being typed",
                    "parameters": [
                        _query("q", "The text typed so far.", {"type": "string", "maxLength": 200})
                    ],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Completions"}, "Completions."),
                        **_errors(400, 503),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "The index being served",
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Health"}, "Serving."),
                        **_errors(503),
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This description",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1 document.")},
                }
            },
        },
        "components": {
            "schemas": {
                "Error": _ERROR,
                "Hit": _HIT,
                "SearchResult": _SEARCH_RESULT,
                "Article": _ARTICLE,
                "Health": _HEALTH,
                "Completions": _COMPLETIONS,
            }
        },
    }
