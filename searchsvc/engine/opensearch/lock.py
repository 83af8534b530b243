"""The one reindex at a time, across hosts: a lock document in the cluster.

Taking the lock creates the document `reindex` in `<name>-control` with
op_type=create, which succeeds for exactly one of any number of hosts trying
at once. The holder renews its expiry every HEARTBEAT seconds, each write
conditional on the version it last wrote (if_seq_no/if_primary_term), so no
one else's lock is ever overwritten. A holder killed without releasing stops
renewing; once its expiry has passed (TTL after the last renewal, by the
breaker's clock: host clocks must agree to well within TTL - HEARTBEAT, as NTP
keeps them), another run deletes the document conditionally on the version it
read, so two breakers cannot both win, and creates its own. Before the alias
swap the holder checks the document is still its own (fencing): a run that
stalled past its expiry and lost the lock fails instead of swapping.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager

from opensearchpy import exceptions as errors

from searchsvc.engine.opensearch.client import Cluster
from searchsvc.engine.opensearch.generations import Layout
from searchsvc.engine.opensearch.mapping import control_index
from searchsvc.index.store import ReindexBusy, ReindexFailed

LOCK_ID = "reindex"
TTL = 120.0  # seconds a lock lives after its last renewal
HEARTBEAT = 20.0  # seconds between renewals
POLL = 1.0  # seconds between tries while waiting for the lock


class ClusterLock:
    def __init__(self, cluster: Cluster, layout: Layout, ttl: float = TTL,
                 heartbeat: float = HEARTBEAT):  # fmt: skip
        self.cluster, self.index = cluster, layout.control
        self.ttl, self.heartbeat = ttl, heartbeat
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._version: tuple[int, int] | None = None  # (seq_no, primary_term) we last wrote
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self.lost: str | None = None  # why the lock was lost, if it was
        self.started = time.time()

    @contextmanager
    def held(self, timeout: float):
        self.acquire(timeout)
        try:
            yield self
        finally:
            self.release()

    def acquire(self, timeout: float) -> None:
        """Take the lock, waiting up to `timeout` seconds; raise ReindexBusy if another holds it."""
        self._ensure_index()
        deadline = time.monotonic() + timeout
        while True:
            if self._try_create():
                self._renewer = threading.Thread(target=self._renew, daemon=True,
                                                 name="searchsvc-reindex-lock")  # fmt: skip
                self._renewer.start()
                return
            holder = self._read()
            if holder is not None and holder[0]["expires"] < time.time():
                self._break(holder)
                continue
            if time.monotonic() >= deadline:
                who = holder[0]["owner"] if holder else "another run"
                waited = f" after waiting {timeout:g} s" if timeout else ""
                raise ReindexBusy(
                    f"another reindex is running on {self.cluster.settings.index!r} ({who})"
                    f"{waited}; try again when it ends, or pass --lock-timeout to wait"
                )
            time.sleep(min(POLL, max(0.0, deadline - time.monotonic())))

    def check(self) -> None:
        """Raise ReindexFailed unless the lock document is still this run's, as last written."""
        found = self._read()
        mine = found is not None and found[0]["owner"] == self.owner and found[1] == self._version
        if self.lost or not mine:
            reason = self.lost or "its lock expired and was taken by another run"
            raise ReindexFailed(f"reindex failed: {reason}; the index served before still serves")

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=self.heartbeat + 5)
        if self._version is None or self.lost:
            return
        seq_no, term = self._version
        try:
            self.cluster.client.delete(index=self.index, id=LOCK_ID, if_seq_no=seq_no,
                                       if_primary_term=term, refresh=True)  # fmt: skip
        except errors.OpenSearchException:
            pass  # taken over or unreachable: it expires by itself
        self._version = None

    def _ensure_index(self) -> None:
        if self.cluster.call("indices.exists", index=self.index):
            return
        try:
            self.cluster.call("indices.create", index=self.index, body=control_index())
        except errors.RequestError as error:
            if error.error != "resource_already_exists_exception":
                raise

    def _document(self) -> dict:
        return {"owner": self.owner, "expires": time.time() + self.ttl, "started": self.started}

    def _try_create(self) -> bool:
        try:
            written = self.cluster.client.index(index=self.index, id=LOCK_ID, op_type="create",
                                                body=self._document(), refresh=True)  # fmt: skip
        except errors.ConflictError:
            return False
        except errors.OpenSearchException as error:
            from searchsvc.engine.opensearch.client import explain

            raise explain(error, self.cluster.settings) from error
        self._version = (written["_seq_no"], written["_primary_term"])
        return True

    def _read(self) -> tuple[dict, tuple[int, int]] | None:
        found = self.cluster.call("get", index=self.index, id=LOCK_ID, params={"ignore": 404})
        if not found.get("found"):
            return None
        return found["_source"], (found["_seq_no"], found["_primary_term"])

    def _break(self, holder: tuple[dict, tuple[int, int]]) -> None:
        """Delete an expired lock, only as it was read: a renewal or another breaker wins."""
        seq_no, term = holder[1]
        try:
            self.cluster.client.delete(index=self.index, id=LOCK_ID, if_seq_no=seq_no,
                                       if_primary_term=term, refresh=True)  # fmt: skip
        except (errors.ConflictError, errors.NotFoundError):
            pass

    def _renew(self) -> None:
        while not self._stop.wait(self.heartbeat):
            seq_no, term = self._version
            try:
                written = self.cluster.client.index(
                    index=self.index, id=LOCK_ID, body=self._document(), if_seq_no=seq_no,
                    if_primary_term=term, refresh=True,
                )  # fmt: skip
            except errors.ConflictError:
                self.lost = "its lock was taken by another run (it was not renewed in time)"
                return
            except errors.OpenSearchException:
                continue  # the cluster is away for a moment: renew at the next beat
            self._version = (written["_seq_no"], written["_primary_term"])
