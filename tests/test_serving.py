"""The serving setup: a bound on held searches (503 at once); slow clients starve no one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest
import requests
from gunicorn.http.errors import NoMoreData
from reliability_support import free_port

from searchsvc.serving import DeadlineSocket
from searchsvc.web.admission import Admission


def test_admission_holds_at_most_its_limit():
    admission = Admission(2)
    assert admission.enter() and admission.enter()
    assert not admission.enter()
    admission.leave()
    assert admission.enter()
    assert admission.held == 2


@pytest.fixture
def full(app):
    """The app with every search slot taken, as during a burst."""
    admission = app.extensions["searchsvc.admission"]
    admission.held = admission.limit
    return app.test_client()


@pytest.mark.parametrize(
    "path", ["/api/search?q=police", "/search?q=police", "/search.atom", "/search.csv?q=x"]
)
def test_a_search_past_the_bound_is_answered_503_at_once(full, path):
    response = full.get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    if path.startswith("/api/"):
        assert response.get_json()["error"]["code"] == "busy"


@pytest.mark.parametrize("path", ["/healthz", "/articles/wire-1", "/api/articles/wire-1", "/"])
def test_cheap_pages_are_served_when_searches_are_full(full, path):
    assert full.get(path).status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/search?q=police", "/api/search?q=x&size=0", "/search?q=police&page=x"]
)
def test_every_search_gives_its_slot_back(app, path):
    client = app.test_client()
    for _ in range(3):
        client.get(path)
    assert app.extensions["searchsvc.admission"].held == 0


SLOW_CLIENTS = 20  # more than 2 workers x 4 threads, the threads per worker until now
TRICKLE_SECONDS = 0.25  # between two bytes of a slow client's request


def test_a_request_must_arrive_within_its_deadline():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        wrapped = DeadlineSocket(ours, seconds=0.5)
        wrapped.start_request()
        theirs.sendall(b"GET")
        assert wrapped.recv(10) == b"GET"  # in time: read as usual
        started = time.monotonic()
        with pytest.raises(NoMoreData):
            while True:  # a byte every 0.1 s never finishes the request
                theirs.sendall(b"x")
                wrapped.recv(1)
                time.sleep(0.1)
        assert time.monotonic() - started < 1.5
        wrapped.start_request()  # the next request on the connection has its own clock
        theirs.sendall(b"GET")
        assert wrapped.recv(10).endswith(b"GET")  # after the last unread "x", if any
        assert wrapped.fileno() == ours.fileno()  # everything else is the socket's


@contextmanager
def _server(index, corpus, log_path, **settings):
    """`searchsvc serve` with its default threads and the given SEARCHSVC_* settings."""
    port = free_port()
    env = os.environ | {"SEARCHSVC_" + k.upper(): str(v) for k, v in settings.items()}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "searchsvc", "serve", "--index", str(index), "--corpus",
             str(corpus), "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(base + "/healthz", timeout=5).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
            yield port
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)


@pytest.mark.slow
def test_slow_clients_neither_starve_others_nor_stay(index_dir, corpus_dir, tmp_path):
    stop = threading.Event()
    outcomes: list[str] = []
    server = _server(index_dir, corpus_dir, tmp_path / "server.log", request_timeout=2)
    port = server.__enter__()

    def trickle() -> None:
        request = b"GET /api/search?q=police HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            for byte in request:
                if stop.is_set():
                    outcomes.append("stopped")
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    outcomes.append("closed")
                    return
                time.sleep(TRICKLE_SECONDS)
                if _closed(conn):
                    outcomes.append("closed")
                    return
            outcomes.append("finished")

    slow = [threading.Thread(target=trickle) for _ in range(SLOW_CLIENTS)]
    try:
        for thread in slow:
            thread.start()
        time.sleep(0.5)
        latencies = []
        for _ in range(15):
            started = time.monotonic()
            response = requests.get(f"http://127.0.0.1:{port}/api/search?q=officer", timeout=20)
            latencies.append(time.monotonic() - started)
            assert response.status_code == 200
            time.sleep(0.1)
        for thread in slow:
            thread.join(timeout=20)
    finally:
        stop.set()
        server.__exit__(None, None, None)
    print(f"\nlatency max {max(latencies):.3f} s; slow clients: {outcomes}")
    # gunicorn's own threaded worker stalled here for the whole trickle (23 s).
    assert max(latencies) < 2.0
    # Each slow client was cut off at the request deadline, long before it finished sending.
    assert outcomes.count("closed") == SLOW_CLIENTS, outcomes


def _closed(conn: socket.socket) -> bool:
    """True when the server has closed the connection (a read returns EOF or an error)."""
    conn.setblocking(False)
    try:
        return conn.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        conn.setblocking(True)


def test_searchers_are_bounded_however_many_threads_serve(app):
    """Each pair of Whoosh searchers holds its own copy of the segments: pool them."""
    from concurrent.futures import ThreadPoolExecutor

    handle = app.extensions["searchsvc.engine"].handle
    handle.max_searchers = 2
    client_app = app.test_client

    def search(_):
        response = client_app().get("/api/search?q=police")
        assert response.status_code == 200

    with ThreadPoolExecutor(max_workers=6) as pool:  # within the 8 searches a worker holds
        list(pool.map(search, range(60)))
    snapshot = handle.snapshot()
    assert snapshot._opened <= 2
    assert len(snapshot._free) == snapshot._opened  # every request gave its pair back


def test_a_thread_waits_for_a_pair_instead_of_opening_another(index_dir):
    from searchsvc.engine.embedded.snapshot import IndexHandle

    snapshot = IndexHandle(index_dir, max_searchers=1).snapshot()
    mine = snapshot.searchers()
    got: list = []
    waiter = threading.Thread(target=lambda: got.append(snapshot.searchers()))
    waiter.start()
    time.sleep(0.3)
    assert not got  # the only pair is taken
    snapshot.release()
    waiter.join(timeout=5)
    assert got == [mine] and snapshot._opened == 1


def test_a_pooled_searcher_forgets_idfs_past_its_bound(index_dir, monkeypatch):
    from searchsvc.engine.embedded import snapshot as snapshot_module
    from searchsvc.engine.embedded.snapshot import IndexHandle

    monkeypatch.setattr(snapshot_module, "MAX_CACHED_IDFS", 3)
    snapshot = IndexHandle(index_dir, max_searchers=1).snapshot()
    articles, _ = snapshot.searchers()
    for word in ("police", "officer", "cocoa", "bank", "rates"):
        articles.idf("body", word)
    assert len(articles._idf_cache) == 5
    snapshot.release()
    assert snapshot.searchers()[0] is articles and not articles._idf_cache
