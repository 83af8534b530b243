"""Timing helpers: builds in a child process (peak RSS of its tree), query latencies, HTTP."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import psutil

from benchmarks.queries import BenchQuery

ROOT = Path(__file__).resolve().parent.parent


def percentiles(samples_ms: list[float]) -> dict:
    if not samples_ms:
        return {"n": 0}
    ordered = sorted(samples_ms)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 2),
        "p95": at(0.95),
        "p99": at(0.99),
        "mean": round(statistics.fmean(ordered), 2),
    }


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_build(engine: str, corpus: Path, index: Path, full: bool = True) -> dict:
    """Run one build in a child process; wall time and the peak RSS of its process tree."""
    command = [sys.executable, "-m", "benchmarks.build", engine, str(corpus), str(index)]
    if not full:
        command.append("--incremental")
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    watched = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        try:
            peak = max(peak, tree_rss(watched))
        except psutil.Error:
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    output = child.stdout.read()
    if child.returncode != 0:
        raise RuntimeError(f"{engine} build failed ({child.returncode}): {output}")
    details = json.loads(output.strip().splitlines()[-1])
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak / 2**20, 1),
            "disk_mb": round(disk_usage(index) / 2**20, 1), **details}  # fmt: skip


def disk_usage(path: Path) -> int:
    seen, total = set(), 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            stat = os.stat(os.path.join(dirpath, name))
            if stat.st_ino not in seen:  # generations share files by hard link
                seen.add(stat.st_ino)
                total += stat.st_size
    return total


def time_queries(engine, queries: list[BenchQuery], warmup: int = 20) -> dict:
    """Latency by query class and overall, after a short warm-up spread over every class."""
    return time_interleaved({"engine": engine}, queries, warmup)["engine"]


def time_interleaved(engines: dict, queries: list[BenchQuery], warmup: int = 20) -> dict:
    """time_queries for several engines, each query run on each in turn.

    Taking turns (in alternating order) puts a shared machine's drift on all
    of them alike, which two runs minutes apart do not: a growth ratio
    between two corpora is then measured under the same conditions.
    """
    names = list(engines)
    for query in queries[:: max(1, len(queries) // max(1, warmup))][:warmup]:
        for name in names:
            _safe(engines[name].run, query)
    by_class: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    errors = dict.fromkeys(names, 0)
    for number, query in enumerate(queries):
        for name in names if number % 2 == 0 else names[::-1]:
            started = time.perf_counter()
            ok = _safe(engines[name].run, query)
            elapsed = (time.perf_counter() - started) * 1000
            if ok:
                by_class[name].setdefault(query.kind, []).append(elapsed)
            else:
                errors[name] += 1
    report = {}
    for name in names:
        every = [ms for samples in by_class[name].values() for ms in samples]
        report[name] = {
            "all": percentiles(every),
            "classes": {kind: percentiles(samples) for kind, samples in by_class[name].items()},
            "errors": errors[name],
        }
    return report


class ProcessEngine:
    """An engine in a process of its own (its own caches), given one query at a time.

    For taking turns between two indexes: in one process they would share
    searchsvc's posting-list cache, and one corpus's reads would evict the
    other's. A query's time then includes a pipe round trip (tens of
    microseconds), alike for every engine.
    """

    def __init__(self, engine: str, index: Path):
        context = multiprocessing.get_context("spawn")
        self._pipe, child_end = context.Pipe()
        self._process = context.Process(target=_serve_engine, args=(engine, str(index), child_end),
                                        daemon=True)  # fmt: skip
        self._process.start()
        child_end.close()

    def run(self, query: BenchQuery) -> None:
        self._pipe.send(query)
        error = self._pipe.recv()
        if error:
            raise RuntimeError(error)

    def close(self) -> None:
        self._pipe.send(None)
        self._process.join(30)
        if self._process.is_alive():
            self._process.kill()


def _serve_engine(engine: str, index: str, pipe) -> None:
    from benchmarks.engines import ENGINES

    runner = ENGINES[engine](Path(index))
    while (query := pipe.recv()) is not None:
        try:
            runner.run(query)
            pipe.send(None)
        except Exception as error:
            pipe.send(repr(error))


def _safe(run, query) -> bool:
    try:
        run(query)
        return True
    except Exception as error:  # a failing query is counted, not fatal
        print(f"  query {query.q!r} failed: {error}", file=sys.stderr)
        return False


# -- HTTP ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`searchsvc serve` on 127.0.0.1 as a child process, stopped on exit."""

    def __init__(self, index: Path, workers: int = 2, threads: int = 4):
        self.port = free_port()
        executable = Path(sys.executable).with_name("searchsvc")
        self.command = [str(executable), "serve", "--index", str(index), "--host", "127.0.0.1",
                        "--port", str(self.port), "--workers", str(workers),
                        "--threads", str(threads)]  # fmt: skip
        self.process = None

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    connection.close()
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("server did not answer /healthz within 60 s")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _path(query: BenchQuery) -> str:
    params = {"q": query.q, "page": query.page, "size": 10}
    if query.sort != "relevance":
        params["sort"] = query.sort
    return "/api/search?" + urlencode(params)


def http_clients(port: int, queries: list[BenchQuery], clients: int, seconds: float) -> dict:
    """`clients` kept-alive connections share the queries; stops early after `seconds`."""
    lock = threading.Lock()
    pending = list(reversed(queries))
    samples: list[float] = []
    errors = [0]
    deadline = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                if not pending:
                    break
                query = pending.pop()
            started = time.perf_counter()
            try:
                connection.request("GET", _path(query))
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if ok:
                    samples.append(elapsed)
                else:
                    errors[0] += 1
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        **percentiles(samples),
        "errors": errors[0],
        "throughput_qps": round(len(samples) / wall, 1) if wall else 0.0,
        "complete": not pending,
    }
