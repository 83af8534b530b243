"""gunicorn's threaded worker with a deadline on receiving each whole request.

gunicorn hands a connection to a worker thread once its first bytes arrive and
the thread then reads the request blocking: a client that sends a byte at a
time keeps that thread for as long as it likes, and a few such clients starve
everyone. Here every read of a request is bounded by what is left of
`request_timeout` seconds, counted from its first read; past that the
connection is closed and the thread is free.
"""

from __future__ import annotations

import time

from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import ThreadWorker


class DeadlineSocket:
    """A connection's socket whose reads give up when the request's time is up."""

    def __init__(self, sock, seconds: float):
        self._sock = sock
        self._seconds = seconds
        self._until: float | None = None

    def __getattr__(self, name: str):
        return getattr(self._sock, name)

    def start_request(self) -> None:
        """A new request: its clock starts at its first read."""
        self._until = None

    def recv(self, size: int, *flags) -> bytes:
        now = time.monotonic()
        if self._until is None:
            self._until = now + self._seconds
        left = self._until - now
        if left <= 0:
            raise NoMoreData(b"")  # gunicorn closes the connection, quietly
        self._sock.settimeout(left)
        try:
            return self._sock.recv(size, *flags)
        except TimeoutError:
            raise NoMoreData(b"") from None
        finally:
            self._sock.settimeout(None)


class DeadlineThreadWorker(ThreadWorker):
    """ThreadWorker whose connections must send each request within `request_timeout`."""

    def handle(self, conn):
        # Wrapped before gunicorn builds the connection's parser, which keeps the socket.
        if not self.cfg.is_ssl and not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket(conn.sock, self.app.searchsvc_config.request_timeout)
        if isinstance(conn.sock, DeadlineSocket):
            conn.sock.start_request()
        return super().handle(conn)
