"""Two reindex runs at once: one proceeds; the other stops with status 4 or waits."""

from __future__ import annotations

import time

import pytest
from reliability_support import (
    cli,
    index_state,
    start_cli,
    wait_for_file,
    write_filler,
    write_markers,
)

from searchsvc.cli import EXIT_BUSY
from searchsvc.engine.embedded.snapshot import IndexHandle
from searchsvc.search import SearchRequest, search

pytestmark = pytest.mark.slow
HOLD_SECONDS = 15.0  # long enough for two more CLI runs to start and stop


def _marker_ids(index) -> set[str]:
    snapshot = IndexHandle(index).snapshot()
    result = search(snapshot, SearchRequest(q="zanzibarquux", size=100))
    return {hit.id for hit in result.hits}


def test_second_writer_stops_or_waits(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_filler(corpus, files=1, per_file=50)
    ids = write_markers(corpus / "markers.jsonl", "m", 10)
    args = ("reindex", "--corpus", str(corpus), "--index", str(index))

    # The first writer holds the lock for a known time (a pause right after taking it).
    marker = tmp_path / "holding"
    env = {
        "SEARCHSVC_PAUSE_AT": "locked",
        "SEARCHSVC_PAUSE_FILE": str(marker),
        "SEARCHSVC_PAUSE_SECONDS": str(HOLD_SECONDS),
    }
    first = start_cli(*args, env=env)
    try:
        _race(first, marker, args, ids, index)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate(timeout=30)


def _race(first, marker, args, ids, index) -> None:
    wait_for_file(marker, first)
    started = time.monotonic()

    second = cli(*args)  # does not wait
    assert second.returncode == EXIT_BUSY, second
    assert "another reindex is running" in second.stderr
    assert "Traceback" not in second.stderr and "LockError" not in second.stderr

    third = cli(*args, "--lock-timeout", "0.5")  # waits, but not long enough
    assert third.returncode == EXIT_BUSY
    assert "after waiting 0.5 s" in third.stderr and "Traceback" not in third.stderr
    assert first.poll() is None, "the first writer should still hold the lock"

    fourth = cli(*args, "--lock-timeout", "60")  # waits for the first, then runs
    waited = time.monotonic() - started
    assert fourth.returncode == 0, fourth.stderr
    first_out, first_err = first.communicate(timeout=60)
    assert first.returncode == 0, first_err
    assert waited >= HOLD_SECONDS - 0.5
    assert "no changes" in fourth.stdout  # it ran after the first, on its finished index

    state = index_state(index)
    assert not state["incomplete"] and state["current"] in state["complete"]
    assert _marker_ids(index) == ids
    print(f"\nsecond writer: exit {second.returncode}: {second.stderr.strip()}")
    print(f"waiting writer ran after {waited:.1f} s: {fourth.stdout.strip()}")
