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
            # Threads keep connections alive between requests and overlap one search's
            # disk reads with another's work; each request must arrive whole within
            # request_timeout, so a slow client cannot keep a thread (serving.py).
            "worker_class": "searchsvc.serving.DeadlineThreadWorker",
            "keepalive": 5,
            # gunicorn's longest request line (8,190 bytes at most) is too short for a
            # full-length query in a non-Latin script once %-escaped (1,000 emoji are
            # 12,000 bytes); the app itself refuses queries past max_query_length.
            "limit_request_line": 0,
            "timeout": 30,
            "graceful_timeout": 10,
            # One server per machine is not assumed (tests run several): no control socket.
            "control_socket_disable": True,
            "accesslog": "-",
            "errorlog": "-",
            "post_worker_init": _warm_up,
        }
        for name, value in options.items():
            self.cfg.set(name, value)

    def load(self):
        from searchsvc import create_app

        return create_app(dict(self.searchsvc_config))


def _warm_up(worker) -> None:
    """Pay a worker's one-off costs before its first request, not during it.

    Importing NLTK, opening the index (its schema, stemmed-word table and
    did-you-mean word counts) and a first search (per-segment length lists,
    facet columns) took 1.44 s on Reuters, once per worker.
    """
    from searchsvc import search
    from searchsvc.model.errors import EngineUnavailable, IndexMissing
    from searchsvc.text.analysis import snowball_stem

    snowball_stem("warm")
    app = worker.wsgi
    try:
        view = app.extensions["searchsvc.engine"].view()
        search.search(view, search.SearchRequest(q="warm", snippets=0))
        view.release()  # this thread serves no requests: its searchers go to one that does
    except (IndexMissing, EngineUnavailable):
        pass  # served as 503 until an index exists and the engine answers


def run_server(config) -> None:
    _Gunicorn(config).run()
