"""Reindex, full then incremental, while a real server answers concurrent clients.

Three corpus states whose marker articles differ (ids and totals), so every
response can be checked to come wholly from one index generation.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from reliability_support import (
    Server,
    cli,
    marker_hits,
    two_marked_corpora,
    write_markers,
)

CLIENTS = 4
MAX_REQUESTS_PER_CLIENT = 4000
MAX_SECONDS = 150

pytestmark = pytest.mark.slow


def test_reindex_while_serving_under_load(tmp_path):
    corpus_a, corpus_b, index, state_a, state_b = two_marked_corpora(tmp_path, 200, (30, 45))

    server = Server(index, corpus_a, tmp_path / "server.log")
    stop = threading.Event()
    seen: list[list[int]] = [[] for _ in range(CLIENTS)]  # state number per response
    failures: list[str] = []
    states = [state_a, state_b]  # grows when the incremental state is written

    def client(number: int) -> None:
        session = requests.Session()
        deadline = time.monotonic() + MAX_SECONDS
        while not stop.is_set() and time.monotonic() < deadline:
            if len(seen[number]) >= MAX_REQUESTS_PER_CLIENT:
                break
            try:
                status, total, ids = marker_hits(server, session)
            except requests.RequestException as error:
                failures.append(f"client {number}: {error!r}")
                continue
            matches = [i for i, state in enumerate(list(states)) if ids == state]
            if status != 200 or not matches or total != len(ids):
                failures.append(f"client {number}: status {status}, total {total}, ids {ids}")
                continue
            seen[number].append(matches[0])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # steady load before the first reindex
        full = cli("reindex", "--full", "--corpus", str(corpus_b), "--index", str(index))
        assert full.returncode == 0, full.stderr
        time.sleep(1.0)
        # Incremental: five articles gone, twelve new ones in a new file.
        state_c = write_markers(corpus_b / "markers.jsonl", "b", 40) | write_markers(
            corpus_b / "more.jsonl", "c", 12
        )
        states.append(state_c)
        incremental = cli("reindex", "--corpus", str(corpus_b), "--index", str(index))
        assert incremental.returncode == 0, incremental.stderr
        assert "12 added" in incremental.stdout and "5 removed" in incremental.stdout
        time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

        # The newest index is served by every worker, without a restart.
        for _ in range(20):
            assert marker_hits(server) == (200, 52, state_c)
        health = server.get("/healthz").json()
        assert health["articles"] == 600 + 52
    finally:
        stop.set()
        server.stop()

    counts = [len(s) for s in seen]
    served = sum(counts)
    by_state = [sum(s.count(i) for s in seen) for i in range(3)]
    print(f"\nrequests served {served} {counts}, failed {len(failures)}, by state {by_state}")
    assert not failures, failures[:5]
    assert served >= 100 and all(counts)
    # Every client moved forward only: old index, then new, never back.
    for states_seen in seen:
        assert states_seen == sorted(states_seen)
    assert by_state[0] and by_state[2], by_state
