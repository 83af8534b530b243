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
from conftest import JSONL_RECORDS

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


SUITE = {
    "wire": (
        JSONL_RECORDS,
        {"q1": "cocoa drought", "q2": "interest rates", "q3": "police officer bravery"},
        {"q1": ["wire-1"], "q2": ["wire-2"], "q3": ["wire-3"]},
    ),
    "sport": (
        [{"id": "s1", "title": "Rovers win the cup final", "body": "Rovers beat United."},
         {"id": "s2", "title": "United sign a striker", "body": "United paid a record fee."},
         {"id": "s3", "title": "Cup draw", "body": "Rovers play City in the next round."}],
        {"a": "rovers cup", "b": "united striker fee"},
        {"a": ["s1", "s3"], "b": ["s2"]},
    ),
}  # fmt: skip


def write_suite(root: Path) -> Path:
    """A folder of two tiny judged sets, as ../shared/eval lays them out."""
    for name, (records, queries, qrels) in SUITE.items():
        folder = root / name
        folder.mkdir(parents=True)
        lines = [json.dumps(record) for record in records]
        (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        lines = [f"{qid}\t{text}" for qid, text in queries.items()]
        (folder / "queries.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        lines = [f"{qid} 0 {doc} 1" for qid, docs in qrels.items() for doc in docs]
        (folder / "qrels.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "wire" / "baselines.tsv").write_text("engine\tMRR@10\nbm25\t0.5\n", encoding="utf-8")
    return root


def _set_generation(target, cache: Path, name: str) -> str:
    """The generation a suite set's index serves (on the embedded engine, its cache folder)."""
    from searchsvc.evaluation.suite import eval_alias

    where = {"index": cache / name}
    if target.engine == "opensearch":
        where = {"opensearch_index": eval_alias(target.where, name)}
    return open_engine(load_config({**target.config, **where})).view().health()["generation"]


def test_eval_suite_builds_each_set_once_and_scores_it(runner, engine, tmp_path):
    suite, cache, target = write_suite(tmp_path / "suite"), tmp_path / "cache", engine.target()
    args = ["eval", "--suite", suite, "--cache", cache, "--json"]
    result = invoke(runner, target, args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    figures = {s["set"]: (s["queries"], s["primary"], s["MAP"], s["MRR@10"], s["ratio"])
               for s in body["sets"]}  # fmt: skip
    assert figures == {"sport": (2, "MAP", 1.0, 1.0, None), "wire": (3, "MRR@10", 1.0, 1.0, 2.0)}
    built = {name: _set_generation(target, cache, name) for name in SUITE}
    again = invoke(runner, target, args)
    assert again.exit_code == 0 and json.loads(again.output) == body
    assert {name: _set_generation(target, cache, name) for name in SUITE} == built  # reused
    with (suite / "sport" / "corpus.jsonl").open("a", encoding="utf-8") as corpus:
        corpus.write(json.dumps({"id": "s4", "title": "Rovers fans", "body": "Cup joy."}) + "\n")
    assert invoke(runner, target, args).exit_code == 0
    assert _set_generation(target, cache, "sport") != built["sport"]  # rebuilt: it changed
    assert _set_generation(target, cache, "wire") == built["wire"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SEARCHSVC_OPENSEARCH_URL": "http://127.0.0.1:1"}, "cannot reach the OpenSearch cluster"),
        ({"SEARCHSVC_OPENSEARCH_URL": ""}, "SEARCHSVC_OPENSEARCH_URL is not set"),
    ],
)
def test_eval_suite_on_a_cluster_that_cannot_answer_is_one_line(runner, tmp_path, env, message):
    suite = write_suite(tmp_path / "suite")
    args = ["eval", "--suite", str(suite), "--cache", str(tmp_path / "cache"),
            "--engine", "opensearch"]  # fmt: skip
    result = runner.invoke(main, args, env={**env, "SEARCHSVC_OPENSEARCH_TIMEOUT": "2"})
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and message in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


def test_eval_of_one_set_on_the_served_index(runner, engine, tmp_path):
    queries = SUITE["wire"][1]
    folder = write_suite(tmp_path / "suite") / "wire"
    args = ["eval", "--queries", folder / "queries.tsv", "--qrels", folder / "qrels.txt",
            "--json"]  # fmt: skip
    result = invoke(runner, engine.built().target, args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["queries"], body["means"]["MRR@10"], body["empty"]) == (len(queries), 1.0, 0)
