"""Run the app under gunicorn, a production WSGI server, from Python."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, config):
        self.searchsvc_config = config
        super().__init__()

    def load_config(self):
        config = self.searchsvc_config
        options = {
            "bind": f"{config.host}:{config.port}",
            "workers": config.workers,
            "threads": config.threads,
            # Threads keep connections alive between requests; sync workers would not.
            "worker_class": "gthread",
            "keepalive": 5,
            # gunicorn's longest request line (8,190 bytes at most) is too short for a
            # full-length query in a non-Latin script once %-escaped (1,000 emoji are
            # 12,000 bytes); the app itself refuses queries past max_query_length.
            "limit_request_line": 0,
            "timeout": 60,
            "graceful_timeout": 10,
            "accesslog": "-",
            "errorlog": "-",
        }
        for name, value in options.items():
            self.cfg.set(name, value)

    def load(self):
        from searchsvc import create_app

        return create_app(dict(self.searchsvc_config))


def run_server(config) -> None:
    _Gunicorn(config).run()
