"""The serving setup: a bound on held searches (503 at once); slow clients starve no one."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests
from test_reliability_support import Server

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


SLOW_CLIENTS = 20  # more than a threaded server's 2 workers x 4 threads
TRICKLE_SECONDS = 0.25  # between two bytes of a slow client's request


@pytest.mark.slow
def test_slow_clients_neither_starve_others_nor_stay(index_dir, corpus_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCHSVC_REQUEST_TIMEOUT", "2")
    server = Server(index_dir, corpus_dir, tmp_path / "server.log")
    stop = threading.Event()
    outcomes: list[str] = []

    def trickle() -> None:
        request = b"GET /api/search?q=police HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
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
            response = requests.get(
                server.base + "/api/search", params={"q": "officer"}, timeout=20
            )
            latencies.append(time.monotonic() - started)
            assert response.status_code == 200
            time.sleep(0.1)
        for thread in slow:
            thread.join(timeout=20)
    finally:
        stop.set()
        server.stop()
    print(f"\nlatency max {max(latencies):.3f} s; slow clients: {outcomes}")
    # Threaded workers stalled here for the whole trickle (about 25 s); 2 s allows a busy CI.
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
