"""The command line: reindex, search, serve, with click's runner and real processes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from click.testing import CliRunner

from searchsvc import create_app
from searchsvc.cli import EXIT_BUSY, EXIT_SKIPPED, main
from searchsvc.index.store import writer_lock


@pytest.fixture
def runner():
    return CliRunner()


def test_help_lists_every_command(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    for command in ("reindex", "search", "serve"):
        assert command in result.output
        sub = runner.invoke(main, [command, "--help"])
        assert sub.exit_code == 0 and "Example:" in sub.output


def test_reindex_summary_then_nothing_to_do(runner, corpus_dir, tmp_path):
    args = ["reindex", "--corpus", str(corpus_dir), "--index", str(tmp_path / "ix")]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "5 articles, 10 paragraphs (5 added, 0 updated, 0 removed)" in first.output
    second = runner.invoke(main, args)
    assert second.exit_code == 0 and "no changes" in second.output


def test_reindex_reads_settings_from_the_environment(runner, corpus_dir, tmp_path):
    env = {"SEARCHSVC_CORPUS": str(corpus_dir), "SEARCHSVC_INDEX": str(tmp_path / "ix")}
    result = runner.invoke(main, ["reindex"], env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ix" / "CURRENT").exists()


def test_reindex_skips_bad_files_names_them_and_exits_3(runner, corpus_dir, tmp_path):
    (corpus_dir / "broken.jsonl").write_text('{"id": "ok", "body": "fine"}\n{oops\n')
    (corpus_dir / "empty.txt").write_text("")
    result = runner.invoke(main, ["reindex", "--corpus", str(corpus_dir),
                                  "--index", str(tmp_path / "ix")])  # fmt: skip
    assert result.exit_code == EXIT_SKIPPED, result.output
    assert "broken.jsonl:2: not valid JSON" in result.output
    assert "empty.txt: no text" in result.output
    assert "6 articles" in result.output and "2 skipped" in result.output


def test_reindex_while_another_runs_exits_4_with_a_message(runner, corpus_dir, tmp_path):
    index = tmp_path / "ix"
    with writer_lock(index, timeout=0):
        result = runner.invoke(main, ["reindex", "--corpus", str(corpus_dir), "--index",
                                      str(index), "--lock-timeout", "0.1"])  # fmt: skip
    assert result.exit_code == EXIT_BUSY
    assert "another reindex is running" in result.output
    assert "Traceback" not in result.output


def test_reindex_of_a_missing_corpus_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(main, ["reindex", "--corpus", str(tmp_path / "nope"),
                                  "--index", str(tmp_path / "ix")])  # fmt: skip
    assert result.exit_code == 1
    assert "corpus not found" in result.output


def test_search_prints_readable_results(runner, index_dir):
    result = runner.invoke(main, ["search", "cocoa", "--index", str(index_dir)])
    assert result.exit_code == 0, result.output
    assert "1 story for 'cocoa'" in result.output
    assert "1. Cocoa prices rise on drought fears  [wire-1]" in result.output
    assert "1987-02-26 · Reuters" in result.output
    assert "<mark>" not in result.output


def test_search_json_is_exactly_the_api_body(runner, index_dir):
    args = ["search", "police", "--index", str(index_dir), "--size", "1", "--sort", "date"]
    result = runner.invoke(main, args + ["--json"])
    assert result.exit_code == 0, result.output
    cli_body = json.loads(result.output)
    client = create_app({"index": index_dir}).test_client()
    api_body = client.get("/api/search?q=police&size=1&sort=date").get_json()
    cli_body.pop("took_ms"), api_body.pop("took_ms")
    assert cli_body == api_body


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--size", "0"], "size"), (["--since", "soon"], "since"), (["--page", "x"], "page")],
)
def test_search_bad_options_are_clear_errors(runner, index_dir, args, message):
    result = runner.invoke(main, ["search", "x", "--index", str(index_dir), *args])
    assert result.exit_code == 1 and message in result.output
    assert "Traceback" not in result.output


def test_search_without_an_index(runner, tmp_path):
    result = runner.invoke(main, ["search", "x", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1 and "searchsvc reindex" in result.output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_builds_a_missing_index_and_answers_over_http(corpus_dir, tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "searchsvc", "serve", "--corpus", str(corpus_dir),
               "--index", str(tmp_path / "ix"), "--port", str(port), "--workers", "1"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
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


def test_search_offers_a_correction(runner, index_dir):
    result = runner.invoke(main, ["search", "cocao", "--index", str(index_dir)])
    assert result.exit_code == 0, result.output
    assert "Did you mean: cocoa" in result.output


def test_reindex_that_cannot_write_is_one_line_and_exit_1(
    runner, corpus_dir, tmp_path, monkeypatch
):
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
