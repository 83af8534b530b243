"""One error shape for the API, friendly pages for the UI, security headers for all."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from searchsvc.model.errors import EngineUnavailable, IndexIncompatible, IndexMissing
from searchsvc.params import ParameterError
from searchsvc.web.admission import RETRY_AFTER_SECONDS, Busy

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def error_body(code: str, message: str) -> dict:
    """The JSON body of every API error."""
    return {"error": {"code": code, "message": message}}


# Answers read by programs, not people: their errors are JSON too (a load balancer's
# health check must see the 503's code, not a page). The exports (/search.csv, .jsonl,
# .atom) are links on the results page, so a person who follows one gets a page.
JSON_PATHS = ("/healthz",)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in JSON_PATHS


def _respond(status: int, code: str, message: str):
    if _wants_json():
        return jsonify(error_body(code, message)), status
    page = render_template("error.html", status=status, message=message, code=code)
    return page, status


def register(app: Flask) -> None:
    # Flask turns debug on from a FLASK_DEBUG left in the environment; a served app
    # must never show tracebacks or reload templates because of one.
    app.debug = False

    @app.before_request
    def reject_undecodable_url():
        # Raw bytes past ASCII in the query string (not %-escaped) make werkzeug's
        # request.args raise UnicodeDecodeError; answer that with a 400 up front.
        try:
            request.query_string.decode("utf-8")
        except UnicodeDecodeError:
            return _respond(400, "bad_request", "the URL's query string is not valid UTF-8")
        return None

    @app.errorhandler(ParameterError)
    def bad_parameter(error: ParameterError):
        return _respond(400, error.code, error.message)

    @app.errorhandler(IndexMissing)
    def no_index(error: IndexMissing):
        if isinstance(error, IndexIncompatible):
            return _respond(503, "index_incompatible", str(error))
        return _respond(503, "no_index", "the index is not built yet; run `searchsvc reindex`")

    @app.errorhandler(EngineUnavailable)
    def engine_unavailable(error: EngineUnavailable):
        return _respond(503, "engine_unavailable", str(error))

    @app.errorhandler(Busy)
    def busy(error: Busy):
        body, status = _respond(
            503, "busy", "the server is answering as many searches as it can; try again"
        )
        response = app.make_response((body, status))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        return _respond(error.code or 500, code, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        return _respond(500, "internal_error", "something went wrong on our side")

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
