"""searchsvc: full-text search for news archives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from searchsvc.config import load_config
from searchsvc.engine import open_engine


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web application; `config` overrides settings (see searchsvc.config)."""
    from searchsvc import web
    from searchsvc.web import admission, api, complete, errors, feeds, ui

    settings = load_config(config)
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config["SEARCHSVC"] = settings
    app.json.sort_keys = False  # keys in the order the result declares them
    app.extensions["searchsvc.engine"] = open_engine(settings)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(ui.blueprint)
    app.register_blueprint(feeds.blueprint)
    app.register_blueprint(complete.blueprint)
    errors.register(app)
    admission.register(app)
    web.register(app)
    return app
