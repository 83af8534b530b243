"""Helpers for the reliability tests: generated corpora, real CLI runs, a real server.

No tests here. Everything runs as real processes on 127.0.0.1: `searchsvc
reindex` and `searchsvc serve` started with this interpreter, so a kill is a
real kill and a request is a real HTTP request.
"""

from __future__ import annotations

import ctypes
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

MARKER = "zanzibarquux"  # a word only the marker articles contain
FILLER_WORDS = (
    "market price trade bank rate oil export minister government company share profit "
    "loss growth report official said year month week city police court election vote "
    "policy budget tax union strike talks deal plan crop harvest weather storm port ship "
    "cargo steel coal gold currency dollar yen index stock bond yield inflation demand"
).split()


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies, so a killed run leaks no server."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_filler(directory: Path, files: int, per_file: int, seed: int = 7) -> None:
    """Deterministic articles of news-like words, none containing the marker."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for number in range(files):
        lines = []
        for item in range(per_file):
            paragraphs = [
                " ".join(rng.choices(FILLER_WORDS, k=rng.randint(20, 60))) + "."
                for _ in range(rng.randint(2, 5))
            ]
            record = {
                "id": f"f{number}-{item}",
                "title": " ".join(rng.choices(FILLER_WORDS, k=6)),
                "date": f"19{rng.randint(80, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "body": "\n\n".join(paragraphs),
            }
            lines.append(json.dumps(record))
        (directory / f"filler-{number}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")


def write_markers(path: Path, prefix: str, count: int) -> set[str]:
    """`count` articles holding MARKER, ids `<prefix>-<n>`; returns the ids."""
    ids = {f"{prefix}-{n}" for n in range(count)}
    lines = [
        json.dumps({"id": aid, "title": f"{MARKER} report {aid}", "body": f"The {MARKER} {aid}."})
        for aid in sorted(ids)
    ]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return ids


def two_marked_corpora(root: Path, per_file: int, markers: tuple[int, int]):
    """Corpora a and b: the same filler, different marker articles; the index built from a.

    Returns (corpus_a, corpus_b, index, ids_a, ids_b): a response whose marker hits equal
    one id set came wholly from that corpus's index.
    """
    corpus_a, corpus_b, index = root / "a", root / "b", root / "index"
    write_filler(corpus_a, files=3, per_file=per_file)
    shutil.copytree(corpus_a, corpus_b)
    ids_a = write_markers(corpus_a / "markers.jsonl", "a", markers[0])
    ids_b = write_markers(corpus_b / "markers.jsonl", "b", markers[1])
    built = cli("reindex", "--corpus", str(corpus_a), "--index", str(index))
    assert built.returncode == 0, built.stderr
    return corpus_a, corpus_b, index, ids_a, ids_b


def cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "searchsvc", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def start_cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "searchsvc", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=_die_with_parent,
    )


def wait_for_file(path: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"exited {process.returncode} first: {process.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {timeout} s")
        time.sleep(0.02)


class Server:
    """`searchsvc serve` with gunicorn, 2 workers, in its own process group."""

    def __init__(self, index: Path, corpus: Path, log: Path, workers: int = 2):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "searchsvc", "serve", "--index", str(index),
             "--corpus", str(corpus), "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers), "--threads", "4"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.base + "/healthz", timeout=10).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or still opening the index
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)

    def get(self, path: str, session=None, **params):
        return (session or requests).get(self.base + path, params=params, timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        self.log.close()


def marker_hits(server: Server, session=None) -> tuple[int, int, set[str]]:
    """(status, total, ids) for the marker word, every hit on one page."""
    response = server.get("/api/search", session, q=MARKER, size=100)
    if response.status_code != 200:
        return response.status_code, -1, set()
    body = response.json()
    return 200, body["total"], {hit["id"] for hit in body["hits"]}


def index_state(index: Path) -> dict:
    """What is on disk: generations (complete or not), the pointer, leftovers."""
    generations = sorted(p for p in index.glob("gen-*") if p.is_dir())
    pointer = index / "CURRENT"
    return {
        "current": pointer.read_text().strip() if pointer.exists() else None,
        "complete": [p.name for p in generations if (p / "info.json").exists()],
        "incomplete": [p.name for p in generations if not (p / "info.json").exists()],
        "leftovers": sorted(p.name for p in index.glob(".pointer-*")),
    }
