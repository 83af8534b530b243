"""A bound on the searches one server process holds at once; past it, 503 at once.

A search is CPU work under one interpreter lock: searches that run together
slow each other down. Rather than let a burst make every answer slow, a worker
holds at most `max_pending_searches` at once and answers the rest at once with
503 and Retry-After, which a client or a balancer can act on.
"""

from __future__ import annotations

import threading

from flask import Flask, g, request

# Endpoints that run a search; pages, articles, health and static files are cheap.
SEARCH_ENDPOINTS = frozenset(
    {"api.api_search", "ui.search_page", "feeds.csv", "feeds.jsonl", "feeds.atom"}
)
RETRY_AFTER_SECONDS = 1
# The search page without any of these is the empty home page: no search runs.
_PAGE_SEARCHES = ("q", "since", "until", "source")


class Busy(Exception):
    """This worker already holds as many searches as it may."""


class Admission:
    """A counter of held searches with a ceiling, safe across threads and greenlets."""

    def __init__(self, limit: int):
        self.limit = limit
        self.held = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.held >= self.limit:
                return False
            self.held += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.held -= 1


def register(app: Flask) -> None:
    admission = Admission(app.config["SEARCHSVC"].max_pending_searches)
    app.extensions["searchsvc.admission"] = admission

    @app.before_request
    def admit():
        if request.endpoint not in SEARCH_ENDPOINTS:
            return None
        if request.endpoint == "ui.search_page" and not any(
            request.args.get(name) for name in _PAGE_SEARCHES
        ):
            return None
        if not admission.enter():
            raise Busy()
        g.searchsvc_admitted = True
        return None

    @app.teardown_request
    def release(_error=None):
        if g.pop("searchsvc_admitted", False):
            admission.leave()
