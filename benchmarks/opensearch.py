"""`python -m benchmarks.opensearch`: the OpenSearch engine beside the embedded one, same run.

Parts (--only): build (full build, an unchanged and a 1%-changed incremental
run, index sizes, per-article costs), query (the fixed query set in process,
the two engines taking turns; with and without dfs_query_then_fetch),
http (`searchsvc serve` on each engine, 1/4/16 kept-alive clients), relevance
(every judged set of ../shared/eval through both engines' search()). With
--scale N the build and query parts also run on N x Reuters (benchmarks/scale.py).

Needs the cluster of `make opensearch` (SEARCHSVC_OPENSEARCH_URL); the
aliases it builds are named bench-* and left in place for reuse (--keep-indexes
is the default; drop them with --drop). JSON goes to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import queries as query_set
from benchmarks.measure import (
    ROOT,
    ProcessEngine,
    Server,
    http_clients,
    run_build,
    time_interleaved,
)
from benchmarks.queries import BenchQuery

PARTS = ("build", "query", "http", "relevance")
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "reuters21578.jsonl"
DEFAULT_SUITE = ROOT.parent / "shared" / "eval"
PAGE_SIZE = 10


def opensearch_engine(alias: str, **overrides):
    from searchsvc.config import load_config
    from searchsvc.engine import open_engine

    return open_engine(load_config({"engine": "opensearch", "opensearch_index": alias,
                                    **overrides}))  # fmt: skip


class OpenSearchRunner:
    """The benchmark's engine protocol (run one BenchQuery) over the OpenSearch engine."""

    def __init__(self, engine, search_type: str | None = None):
        self.engine, self.search_type = engine, search_type

    def run(self, query: BenchQuery) -> int:
        from searchsvc.search import SearchRequest, search

        view = self.engine.view()  # per query, as the web app asks per request
        view.search_type = self.search_type
        request = SearchRequest(q=query.q, page=query.page, size=PAGE_SIZE, sort=query.sort)
        return len(search(view, request).hits)


def index_sizes(engine) -> dict:
    """Bytes of the live generation: articles and statistics, primaries and with replicas."""
    view = engine.view()
    indexes = f"{view.name},{view.layout.terms(view.name)}"
    stats = engine.cluster.call("indices.stats", index=indexes, metric="store")["indices"]
    out = {}
    for name, entry in stats.items():
        kind = "terms" if name.endswith("-terms") else "articles"
        out[kind] = {
            "primary_mb": round(entry["primaries"]["store"]["size_in_bytes"] / 2**20, 1),
            "total_mb": round(entry["total"]["store"]["size_in_bytes"] / 2**20, 1),
        }
    return out


def usable(engine) -> bool:
    """Whether the engine has an index this version reads (an older format is rebuilt)."""
    from searchsvc.model.errors import IndexMissing

    try:
        engine.view()
    except IndexMissing:  # IndexIncompatible too
        return False
    return True


def changed_copy(corpus: Path, target: Path, share: float) -> Path:
    """`corpus` with `share` of its records' bodies changed (fixed seed)."""
    rng = random.Random(15)
    with corpus.open(encoding="utf-8") as source, target.open("w", encoding="utf-8") as out:
        for line in source:
            if line.strip() and rng.random() < share:
                record = json.loads(line)
                record["body"] = (record.get("body") or "") + "\n\nRevised."
                line = json.dumps(record) + "\n"
            out.write(line)
    return target


def measure_build(args, corpus: Path, label: str) -> dict:
    out = {}
    whoosh_index = args.workdir / f"whoosh-{label}"
    if not args.reuse or not whoosh_index.exists():
        print(f"[{label}] embedded build ...", flush=True)
        out["whoosh"] = run_build("searchsvc", corpus, whoosh_index)
    engine = opensearch_engine(f"bench-{label}")
    if args.reuse and usable(engine):
        return out
    print(f"[{label}] OpenSearch build ...", flush=True)
    started = time.perf_counter()
    report = engine.reindex([corpus], full=True)
    seconds = time.perf_counter() - started
    info = engine.view().info
    articles = info["articles"]
    out["opensearch"] = {
        "seconds": round(seconds, 2),
        "articles": articles,
        "paragraphs": info["paragraphs"],
        "load_seconds": info.get("timings", {}),
        "ms_per_article": round(seconds * 1000 / max(articles, 1), 3),
        "sizes": index_sizes(engine),
        "summary": report.summary(),
    }
    started = time.perf_counter()
    engine.reindex([corpus])
    out["opensearch-unchanged"] = {"seconds": round(time.perf_counter() - started, 2)}
    changed = changed_copy(corpus, args.workdir / f"{label}-changed.jsonl", 0.01)
    started = time.perf_counter()
    report = engine.reindex([changed])
    out["opensearch-1pct-changed"] = {"seconds": round(time.perf_counter() - started, 2),
                                      "summary": report.summary()}  # fmt: skip
    engine.reindex([corpus])  # back to the corpus the queries are drawn from
    return out


def measure_queries(args, label: str, queries: list[BenchQuery]) -> dict:
    """Both engines, and OpenSearch with a dfs phase, taking turns query by query."""
    print(f"[{label}] {len(queries)} queries, engines taking turns ...", flush=True)
    embedded = ProcessEngine("searchsvc", args.workdir / f"whoosh-{label}")
    engine = opensearch_engine(f"bench-{label}")
    runners = {"whoosh": embedded, "opensearch": OpenSearchRunner(engine),
               "opensearch-dfs": OpenSearchRunner(engine, "dfs_query_then_fetch")}  # fmt: skip
    try:
        timed = time_interleaved(runners, queries)
    finally:
        embedded.close()
    timed["dfs_same_answers"] = same_answers(engine, queries)
    return timed


def same_answers(engine, queries: list[BenchQuery]) -> dict:
    """How many queries get the same page (ids and scores) with and without a dfs phase."""
    from searchsvc.search import SearchRequest, search

    view, same = engine.view(), 0
    for query in queries:
        request = SearchRequest(q=query.q, page=query.page, size=PAGE_SIZE, sort=query.sort)
        answers = []
        for search_type in (None, "dfs_query_then_fetch"):
            view.search_type = search_type
            result = search(view, request)
            answers.append([(hit.id, hit.score) for hit in result.hits] + [result.total])
        view.search_type = None
        same += answers[0] == answers[1]
    return {"queries": len(queries), "same": same}


@contextmanager
def environment(**values):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def measure_http(args, label: str, queries: list[BenchQuery]) -> dict:
    out = {}
    runs = {"whoosh": {"SEARCHSVC_ENGINE": "whoosh"},
            "opensearch": {"SEARCHSVC_ENGINE": "opensearch",
                           "SEARCHSVC_OPENSEARCH_INDEX": f"bench-{label}"}}  # fmt: skip
    for name, env in runs.items():
        out[name] = {}
        with environment(**env), Server(args.workdir / f"whoosh-{label}") as server:
            http_clients(server.port, queries[:20], 1, args.http_seconds)  # warm both workers
            for clients in (1, 4, 16):
                print(f"[{label}] HTTP {name}, {clients} client(s) ...", flush=True)
                out[name][str(clients)] = http_clients(server.port, queries, clients,
                                                       args.http_seconds)  # fmt: skip
    return out


def measure_relevance(args) -> dict:
    """Every judged set through both engines; the OpenSearch one on an alias per set."""
    from searchsvc.config import load_config
    from searchsvc.engine import open_engine
    from searchsvc.evaluation.suite import cached_index, evaluate_set, find_sets

    results = {}
    for judged in find_sets(args.suite):
        print(f"[relevance] {judged.name} ...", flush=True)
        index, _ = cached_index(judged, args.workdir / "eval")
        embedded = open_engine(load_config({"engine": "whoosh", "index": str(index)}))
        engine = opensearch_engine(f"bench-eval-{judged.name}")
        if not args.reuse or not usable(engine):
            engine.reindex([judged.corpus], full=True)
        row = {"whoosh": evaluate_set(judged, embedded.view(), args.half).means}
        started = time.perf_counter()
        row["opensearch"] = evaluate_set(judged, engine.view(), args.half).means
        row["opensearch_seconds"] = round(time.perf_counter() - started, 1)
        results[judged.name] = row
    return results


def print_report(result: dict) -> None:
    for label, part in result.get("corpora", {}).items():
        build = part.get("build", {})
        for name, figures in build.items():
            print(f"[{label}] build {name}: {json.dumps(figures)}")
        for name, timed in part.get("query", {}).items():
            if name == "dfs_same_answers":
                print(f"[{label}] dfs_query_then_fetch, same page and total: {timed}")
                continue
            overall = timed["all"]
            classes = ", ".join(f"{k} {v.get('p50')}/{v.get('p95')}"
                                for k, v in timed["classes"].items())  # fmt: skip
            print(f"[{label}] query {name}: p50 {overall.get('p50')} ms, "
                  f"p95 {overall.get('p95')} ms ({classes})")  # fmt: skip
        for name, runs in part.get("http", {}).items():
            for clients, run in runs.items():
                print(f"[{label}] http {name} x{clients}: p50 {run.get('p50')} ms, "
                      f"p95 {run.get('p95')} ms, {run['throughput_qps']} req/s, "
                      f"{run['errors']} errors")  # fmt: skip
    relevance = result.get("relevance")
    if relevance:
        measures = ("MAP", "nDCG@10", "MRR@10", "Recall@100")
        print("relevance, embedded / OpenSearch (difference):")
        for name, row in relevance.items():
            cells = [
                f"{m} {row['whoosh'][m]:.4f}/{row['opensearch'][m]:.4f} "
                f"({row['opensearch'][m] - row['whoosh'][m]:+.4f})"
                for m in measures
                if m in row["whoosh"] and m in row["opensearch"]
            ]
            print(f"  {name:22} " + "  ".join(cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.opensearch", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--only", default="build,query", help=f"parts out of {','.join(PARTS)}")
    parser.add_argument("--scale", type=int, default=0, help="also N x the corpus (0: not)")
    parser.add_argument("--queries", type=int, default=None, help="an even share of N queries")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/searchsvc-bench"))
    parser.add_argument("--reuse", action="store_true", help="keep indexes already built")
    parser.add_argument("--http-seconds", type=float, default=120.0)
    parser.add_argument("--suite", type=Path, default=DEFAULT_SUITE)
    parser.add_argument("--half", choices=("all", "tune", "test"), default="all")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    if not os.environ.get("SEARCHSVC_OPENSEARCH_URL"):
        parser.error("SEARCHSVC_OPENSEARCH_URL is not set: start a cluster with `make opensearch`")
    args.workdir.mkdir(parents=True, exist_ok=True)
    queries = query_set.load(limit=args.queries)
    corpora = {"reuters": args.corpus}
    if args.scale:
        from benchmarks.scale import generate

        scaled = args.workdir / f"reuters-x{args.scale}.jsonl"
        if not scaled.exists():
            generate(args.corpus, args.scale, scaled)
        corpora[f"x{args.scale}"] = scaled
    result: dict = {"started": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                    "corpora": {}}  # fmt: skip
    args.output.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.output / f"opensearch-{stamp}.json"

    def save() -> None:  # after every part: a long run that stops keeps what it measured
        path.write_text(json.dumps(result, indent=1), encoding="utf-8")

    for label, corpus in corpora.items():
        part: dict = result["corpora"].setdefault(label, {})
        if "build" in parts or "query" in parts or "http" in parts:
            part["build"] = measure_build(args, corpus, label)
            save()
        if "query" in parts:
            part["query"] = measure_queries(args, label, queries)
            save()
        if "http" in parts:
            part["http"] = measure_http(args, label, queries)
            save()
    if "relevance" in parts:
        result["relevance"] = measure_relevance(args)
        save()
    print_report(result)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
