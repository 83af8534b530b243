"""The HTTP surfaces: JSON API and web UI over the same search function."""

from __future__ import annotations

from flask import Flask, current_app, g

from searchsvc.engine.base import EngineView


def settings():
    return current_app.config["SEARCHSVC"]


def view() -> EngineView:
    """The engine's current generation; raises IndexMissing (answered as 503) when there
    is none, EngineUnavailable (also 503) when the engine cannot answer."""
    current = current_app.extensions["searchsvc.engine"].view()
    g.setdefault("searchsvc_snapshots", []).append(current)
    return current


def register(app: Flask) -> None:
    @app.teardown_request
    def release_searchers(_error=None):
        # The thread's searchers go back to the snapshot it used (a reindex may have
        # swapped in a newer one since), for whichever thread serves the next request.
        for used in g.pop("searchsvc_snapshots", []):
            used.release()
