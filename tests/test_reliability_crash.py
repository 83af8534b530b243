"""kill -9 of a reindex at every checkpoint and at timed points mid-write.

The server must keep answering from the previous index, never open a
half-written one, and the next reindex must finish, serve everything, and
hold exactly what a full build of the same files holds.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from reindex_support import index_contents
from reliability_support import (
    Server,
    cli,
    index_state,
    marker_hits,
    start_cli,
    two_marked_corpora,
    wait_for_file,
    write_markers,
)

from searchsvc.index.indexer import reindex
from searchsvc.index.store import CHECKPOINTS

pytestmark = pytest.mark.slow

TIMED_KILLS = (0.5, 1.2, 2.0, 3.0)  # seconds into a full reindex: imports, reading, writing


def _kill(process) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    process.stdout.close()
    process.stderr.close()


def _assert_serves(server, expected: set[str], times: int = 6) -> None:
    for _ in range(times):
        assert marker_hits(server) == (200, len(expected), expected)


def test_kill_reindex_at_each_point(tmp_path):
    corpus_a, corpus_b, index, state_a, state_b = two_marked_corpora(tmp_path, 150, (20, 25))
    served_generation = index_state(index)["current"]

    server = Server(index, corpus_a, tmp_path / "server.log")
    tried = []
    full_b = ("reindex", "--full", "--corpus", str(corpus_b), "--index", str(index))
    try:
        _assert_serves(server, state_a)
        # Checkpoints before the pointer moves: the old index must stay in service.
        for number, point in enumerate(p for p in CHECKPOINTS if p != "swapped"):
            for mode in ("--full", None):
                marker = tmp_path / f"paused-{number}-{mode}"
                args = ["reindex", "--corpus", str(corpus_b), "--index", str(index)]
                env = {"SEARCHSVC_PAUSE_AT": point, "SEARCHSVC_PAUSE_FILE": str(marker)}
                process = start_cli(*args, *([mode] if mode else []), env=env)
                wait_for_file(marker, process)
                _assert_serves(server, state_a, times=2)  # serving while it is paused
                _kill(process)
                tried.append(f"{point}{' full' if mode else ' incremental'}")
                _assert_serves(server, state_a)
                state = index_state(index)
                assert state["current"] == served_generation, state
                assert server.get("/healthz").json()["generation"] == served_generation

        before = index_state(index)
        # Each run removes what the one before it left; the last kill leaves its own.
        orphans = before["incomplete"] + [g for g in before["complete"] if g > served_generation]
        assert orphans, "the kills should have left orphans to clean up"
        assert before["leftovers"], "a kill before the rename leaves its .pointer- file"

        # Timed kills while Whoosh writes segments. A run may swap in before the
        # signal lands (fast machine): then the new index must be whole and served.
        for delay in TIMED_KILLS:
            process = start_cli(*full_b)
            time.sleep(delay)
            if process.poll() is None:
                _kill(process)
            else:
                process.communicate()
            state = index_state(index)
            assert state["current"] in state["complete"], state
            swapped = state["current"] != served_generation
            _assert_serves(server, state_b if swapped else state_a)
            tried.append(f"after {delay} s ({'new' if swapped else 'old'} index served)")

        # After the pointer moved but before clean-up: the new index is whole and served.
        marker = tmp_path / "paused-swapped"
        env = {"SEARCHSVC_PAUSE_AT": "swapped", "SEARCHSVC_PAUSE_FILE": str(marker)}
        process = start_cli(*full_b, env=env)
        wait_for_file(marker, process)
        _kill(process)
        tried.append("swapped (before clean-up)")
        _assert_serves(server, state_b)

        # The next reindex takes the lock a dead process held, cleans up, serves all.
        write_markers(corpus_b / "more.jsonl", "c", 5)
        final = cli(*full_b[:1], *full_b[2:], "--lock-timeout", "5")
        assert final.returncode == 0, final.stderr
        assert "Traceback" not in final.stderr
        expected = state_b | {f"c-{n}" for n in range(5)}
        _assert_serves(server, expected)
        after = index_state(index)
        assert not after["incomplete"] and not after["leftovers"], after
        assert server.get("/healthz").json()["articles"] == 450 + len(expected)
        # And the index those interrupted runs led to is the one a full build makes.
        reindex([corpus_b], tmp_path / "full", full=True)
        assert index_contents(index) == index_contents(tmp_path / "full")
    finally:
        server.stop()
    print(f"\nkill -9 points tried: {', '.join(tried)}; orphans before clean-up: {before}")
