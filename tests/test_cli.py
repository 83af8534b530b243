"""The command line: reindex, search, serve, eval, with click's runner and real processes.

Most tests run on both engines (conftest `engine`), the engine and its index named
through the environment as a user would; the commands must answer alike.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from searchsvc.cli import EXIT_BUSY, EXIT_SKIPPED, main
from searchsvc.config import load_config
from searchsvc.engine import open_engine
from searchsvc.index.store import writer_lock


@pytest.fixture
def runner():
    return CliRunner()


def invoke(runner, target, args: list, env: dict | None = None):
    """`searchsvc args` with the engine and index of `target` in the environment."""
    return runner.invoke(main, [str(arg) for arg in args], env={**target.env, **(env or {})})


def test_help_lists_every_command(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    for command in ("reindex", "search", "serve"):
        assert command in result.output
        sub = runner.invoke(main, [command, "--help"])
        assert sub.exit_code == 0 and "Example:" in sub.output


def test_reindex_summary_then_nothing_to_do(runner, engine, corpus_dir):
    target = engine.target()
    first = invoke(runner, target, ["reindex", "--corpus", corpus_dir])
    assert first.exit_code == 0, first.output
    assert "5 articles, 10 paragraphs (5 added, 0 updated, 0 removed)" in first.output
    second = invoke(runner, target, ["reindex", "--corpus", corpus_dir])
    assert second.exit_code == 0 and "no changes" in second.output


def test_reindex_reads_settings_from_the_environment(runner, engine, corpus_dir):
    target = engine.target()
    result = invoke(runner, target, ["reindex"], env={"SEARCHSVC_CORPUS": str(corpus_dir)})
    assert result.exit_code == 0, result.output
    assert open_engine(load_config(target.config)).has_index()


def test_reindex_skips_bad_files_names_them_and_exits_3(runner, engine, corpus_dir):
    (corpus_dir / "broken.jsonl").write_text('{"id": "ok", "body": "fine"}\n{oops\n')
    (corpus_dir / "empty.txt").write_text("")
    result = invoke(runner, engine.target(), ["reindex", "--corpus", corpus_dir])
    assert result.exit_code == EXIT_SKIPPED, result.output
    assert "broken.jsonl:2: not valid JSON" in result.output
    assert "empty.txt: no text" in result.output
    assert "6 articles" in result.output and "2 skipped" in result.output


@contextmanager
def holding_the_lock(target):
    """Another run's reindex lock. Engine-specific by nature: the embedded engine's is an
    OS file lock in the index directory, the cluster's a document beside the alias."""
    if target.engine == "whoosh":
        with writer_lock(Path(target.where), timeout=0):
            yield
        return
    from searchsvc.engine.opensearch.lock import ClusterLock

    engine = open_engine(load_config(target.config))
    lock = ClusterLock(engine.cluster, engine.layout)
    lock.acquire(0)
    try:
        yield
    finally:
        lock.release()


def test_reindex_while_another_runs_exits_4_with_a_message(runner, engine, corpus_dir):
    target = engine.target()
    with holding_the_lock(target):
        result = invoke(runner, target, ["reindex", "--corpus", corpus_dir,
                                         "--lock-timeout", "0.1"])  # fmt: skip
    assert result.exit_code == EXIT_BUSY
    assert f"another reindex is running on {target.where}" in result.output.replace("'", "")
    assert "Traceback" not in result.output


def test_reindex_of_a_missing_corpus_is_a_clear_error(runner, engine, tmp_path):
    result = invoke(runner, engine.target(), ["reindex", "--corpus", tmp_path / "nope"])
    assert result.exit_code == 1
    assert "corpus not found" in result.output


def test_search_prints_readable_results(runner, engine):
    result = invoke(runner, engine.built().target, ["search", "cocoa"])
    assert result.exit_code == 0, result.output
    assert "1 story for 'cocoa'" in result.output
    assert "1. Cocoa prices rise on drought fears  [wire-1]" in result.output
    assert "1987-02-26 · Reuters" in result.output
    assert "<mark>" not in result.output


def test_search_json_is_exactly_the_api_body(runner, engine):
    built = engine.built()
    args = ["search", "police", "--size", "1", "--sort", "date", "--json"]
    result = invoke(runner, built.target, args)
    assert result.exit_code == 0, result.output
    cli_body = json.loads(result.output)
    client = built.app().test_client()
    api_body = client.get("/api/search?q=police&size=1&sort=date").get_json()
    cli_body.pop("took_ms"), api_body.pop("took_ms")
    assert cli_body == api_body


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--size", "0"], "size"), (["--since", "soon"], "since"), (["--page", "x"], "page")],
)
def test_search_bad_options_are_clear_errors(runner, engine, args, message):
    result = invoke(runner, engine.built().target, ["search", "x", *args])
    assert result.exit_code == 1 and message in result.output
    assert "Traceback" not in result.output


def test_search_without_an_index(runner, engine):
    result = invoke(runner, engine.target("none"), ["search", "x"])
    assert result.exit_code == 1 and "searchsvc reindex" in result.output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_builds_a_missing_index_and_answers_over_http(engine, corpus_dir):
    port = free_port()
    command = [sys.executable, "-m", "searchsvc", "serve", "--corpus", str(corpus_dir),
               "--port", str(port), "--workers", "1"]  # fmt: skip
    env = {**os.environ, **engine.target().env}
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        body = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and body is None:
            try:
                url = f"http://127.0.0.1:{port}/api/search?q=cocoa"
                with urllib.request.urlopen(url, timeout=2) as response:
                    body = json.load(response)
                    server_header = response.headers.get("Server", "")
            except OSError:
                time.sleep(0.2)
        assert body is not None, "server did not answer within 30 s"
        assert body["total"] == 1
        assert "gunicorn" in server_header  # a production server, not Flask's
    finally:
        server.terminate()
        output = server.communicate(timeout=15)[0].decode()
    assert "building it from the corpus first" in output


def test_search_offers_a_correction(runner, engine):
    result = invoke(runner, engine.built().target, ["search", "cocao"])
    assert result.exit_code == 0, result.output
    assert "Did you mean: cocoa" in result.output


def test_reindex_that_cannot_write_is_one_line_and_exit_1(
    runner, corpus_dir, tmp_path, monkeypatch
):
    """The embedded engine only: a full disk under its index files. The cluster's failures
    mid-reindex (a node lost) are in test_opensearch_engine.py."""
    import errno
    import os

    from searchsvc.index import store

    args = ["reindex", "--corpus", str(corpus_dir), "--index", str(tmp_path / "index")]
    assert runner.invoke(main, args).exit_code == 0
    (corpus_dir / "new.txt").write_text("New article.\n", encoding="utf-8")

    def fsync(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store.os, "fsync", fsync)
    result = runner.invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "Error: reindex failed: No space left on device;" in result.output
    assert "still serves the index it served before" in result.output
    assert "Traceback" not in result.output
