"""The HTTP surfaces: JSON API and web UI over the same search function."""

from __future__ import annotations

from flask import current_app

from searchsvc.snapshot import IndexSnapshot


def settings():
    return current_app.config["SEARCHSVC"]


def snapshot() -> IndexSnapshot:
    """The current index; raises store.IndexMissing (answered as 503) when there is none."""
    return current_app.extensions["searchsvc.index"].snapshot()
