"""`python -m benchmarks`: build, query and serve benchmarks, as a table and as JSON.

Every figure is also given as a ratio to plain Whoosh measured in the same
run, since absolute times drift on a shared machine. Scratch indexes and
generated corpora go under --workdir (default /tmp/searchsvc-bench).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import queries as query_set
from benchmarks.engines import ENGINES
from benchmarks.measure import (
    ROOT,
    ProcessEngine,
    Server,
    http_clients,
    run_build,
    time_interleaved,
    time_queries,
)

PARTS = ("index", "query", "http", "scale", "growth", "relevance")
BASELINE = "plain-whoosh"
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "reuters21578.jsonl"
DEFAULT_SUITE = ROOT.parent / "shared" / "eval"


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="JSON Lines corpus")
    parser.add_argument("--only", default="index,query,http",
                        help=f"comma-separated parts out of {','.join(PARTS)}")  # fmt: skip
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help="comma-separated engines (plain-whoosh is the baseline)")  # fmt: skip
    parser.add_argument("--queries", type=int, default=None,
                        help="an even share of N queries from the set (default: all)")  # fmt: skip
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/searchsvc-bench"))
    parser.add_argument("--http-seconds", type=float, default=120.0,
                        help="time limit for each HTTP client run")  # fmt: skip
    parser.add_argument("--scale", default="5,10", help="corpus multiples for the scale part")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--suite", type=Path, default=DEFAULT_SUITE,
                        help="judged sets for the relevance part")  # fmt: skip
    parser.add_argument("--half", choices=("all", "tune", "test"), default="all",
                        help="relevance: only one half of each set's queries")  # fmt: skip
    args = parser.parse_args(argv)
    args.only = [p.strip() for p in args.only.split(",") if p.strip()]
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [p for p in args.only if p not in PARTS] + [
        e for e in args.engines if e not in ENGINES
    ]
    if unknown:
        parser.error(f"unknown part or engine: {', '.join(unknown)}")
    if not args.corpus.is_file() and set(args.only) - {"relevance"}:
        parser.error(f"corpus not found: {args.corpus}")
    if "relevance" in args.only and not args.suite.is_dir():
        parser.error(f"judged sets not found: {args.suite}")
    try:
        args.scale = [int(f) for f in args.scale.split(",") if f.strip()]
    except ValueError:
        parser.error("--scale takes whole numbers, e.g. 5,10")
    return args


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "platform": platform.platform(), "commit": commit,
            "load_average": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip


def index_dir(args, engine: str, label: str) -> Path:
    return args.workdir / label / engine


def measure_corpus(args, corpus: Path, label: str, queries, parts) -> dict:
    """Build (or reuse) every engine's index for `corpus` and measure the chosen parts."""
    out: dict = {"corpus": str(corpus), "build": {}, "query": {}, "http": {}}
    for engine in args.engines:
        index = index_dir(args, engine, label)
        if "index" in parts or not index.exists():
            print(f"[{label}] building {engine} ...", flush=True)
            out["build"][engine] = run_build(engine, corpus, index)
            if engine == "searchsvc":
                out["build"]["searchsvc-unchanged"] = run_build(engine, corpus, index, full=False)
    if "query" in parts:
        for engine in args.engines:
            print(f"[{label}] {len(queries)} queries on {engine} ...", flush=True)
            out["query"][engine] = time_queries(ENGINES[engine](index_dir(args, engine, label)),
                                                queries)  # fmt: skip
    if "http" in parts and "searchsvc" in args.engines:
        with Server(index_dir(args, "searchsvc", label)) as server:
            http_clients(server.port, queries[:20], 1, args.http_seconds)  # warm both workers
            for clients in (1, 4, 16):
                print(f"[{label}] HTTP, {clients} client(s) ...", flush=True)
                out["http"][str(clients)] = http_clients(server.port, queries, clients,
                                                         args.http_seconds)  # fmt: skip
    return out


def measure_growth(args, queries) -> dict:
    """searchsvc on the base corpus and each multiple, a process each, the queries taking turns."""
    labels = ["base"] + [f"{factor}x" for factor in args.scale]
    missing = [label for label in labels if not index_dir(args, "searchsvc", label).exists()]
    if missing:
        print(f"\n(growth not measured: no searchsvc index for {', '.join(missing)};"
              " run with --only index,query,scale)")  # fmt: skip
        return {}
    print(f"[growth] {len(queries)} queries, taking turns on {', '.join(labels)} ...", flush=True)
    engines = {label: ProcessEngine("searchsvc", index_dir(args, "searchsvc", label))
               for label in labels}  # fmt: skip
    try:
        growth = time_interleaved(engines, queries)
    finally:
        for engine in engines.values():
            engine.close()
    base = growth["base"]["all"]
    print("\n## searchsvc growth, queries taking turns, ms (ratio to base)")
    print(f"{'corpus':8} {'p50':>8} {'ratio':>7} {'p95':>8} {'ratio':>7} {'p99':>8}")
    for label, timing in growth.items():
        a = timing["all"]
        print(f"{label:8} {a['p50']:8.2f} {ratio(a['p50'], base['p50']):>7} {a['p95']:8.2f}"
              f" {ratio(a['p95'], base['p95']):>7} {a['p99']:8.2f}")  # fmt: skip
    return growth


def ratio(value, base) -> str:
    if not isinstance(value, (int, float)) or not isinstance(base, (int, float)) or not base:
        return "-"
    return f"{value / base:.2f}x"


def print_tables(label: str, result: dict) -> None:
    builds = result["build"]
    if builds:
        base = builds.get(BASELINE, {})
        print(f"\n## {label}: index build (ratio to {BASELINE})")
        print(f"{'engine':22} {'seconds':>9} {'ratio':>7} {'para/s':>9} {'peak MB':>9}"
              f" {'ratio':>7} {'disk MB':>8}")  # fmt: skip
        for engine, b in builds.items():
            rate = b.get("paragraphs", 0) / b["seconds"] if b["seconds"] else 0
            print(f"{engine:22} {b['seconds']:9.2f} {ratio(b['seconds'], base.get('seconds')):>7}"
                  f" {rate:9.0f} {b['peak_rss_mb']:9.1f}"
                  f" {ratio(b['peak_rss_mb'], base.get('peak_rss_mb')):>7}"
                  f" {b['disk_mb']:8.1f}")  # fmt: skip
    if result["query"]:
        base = result["query"].get(BASELINE, {})
        print(f"\n## {label}: queries in process, ms (ratio to {BASELINE})")
        print(f"{'engine':14} {'class':11} {'n':>4} {'p50':>8} {'ratio':>7} {'p95':>8} {'ratio':>7}"
              f" {'p99':>8} {'err':>4}")  # fmt: skip
        for engine, q in result["query"].items():
            rows = [("all", q["all"])] + sorted(q["classes"].items())
            for kind, s in rows:
                b = base.get("all") if kind == "all" else base.get("classes", {}).get(kind, {})
                b = b or {}
                print(f"{engine:14} {kind:11} {s.get('n', 0):4} {s.get('p50', 0):8.2f}"
                      f" {ratio(s.get('p50'), b.get('p50')):>7} {s.get('p95', 0):8.2f}"
                      f" {ratio(s.get('p95'), b.get('p95')):>7} {s.get('p99', 0):8.2f}"
                      f" {q['errors'] if kind == 'all' else '':>4}")  # fmt: skip
    if result["http"]:
        base = result["query"].get(BASELINE, {}).get("all", {})
        print(f"\n## {label}: searchsvc over HTTP, ms (ratio to {BASELINE} in process)")
        print(f"{'clients':>7} {'n':>5} {'p50':>8} {'ratio':>7} {'p95':>8} {'ratio':>7} {'p99':>8}"
              f" {'req/s':>7} {'errors':>6}")  # fmt: skip
        for clients, h in result["http"].items():
            print(f"{clients:>7} {h.get('n', 0):5} {h.get('p50', 0):8.2f}"
                  f" {ratio(h.get('p50'), base.get('p50')):>7} {h.get('p95', 0):8.2f}"
                  f" {ratio(h.get('p95'), base.get('p95')):>7} {h.get('p99', 0):8.2f}"
                  f" {h['throughput_qps']:7.1f} {h['errors']:6}"
                  f"{'' if h['complete'] else '  (time limit hit)'}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = arguments(sys.argv[1:] if argv is None else argv)
    queries = query_set.load(limit=args.queries)
    started = time.perf_counter()
    report = {"started": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": machine(), "queries": len(queries), "runs": {}}  # fmt: skip
    parts = [p for p in args.only if p not in ("scale", "growth", "relevance")]
    if parts:
        report["runs"]["reuters"] = measure_corpus(args, args.corpus, "base", queries, parts)
        print_tables("base corpus", report["runs"]["reuters"])
    if "scale" in args.only:
        from benchmarks.scale import generate

        for factor in args.scale:
            corpus = args.workdir / f"corpus-{factor}x.jsonl"
            if not corpus.exists():
                print(f"[{factor}x] generating {corpus} ...", flush=True)
                generate(args.corpus, factor, corpus)
            label = f"{factor}x"
            report["runs"][label] = measure_corpus(args, corpus, label, queries,
                                                   ["index", "query"])  # fmt: skip
            print_tables(label, report["runs"][label])
    if {"scale", "growth"} & set(args.only) and "searchsvc" in args.engines:
        report["growth"] = measure_growth(args, queries)
    if "relevance" in args.only:
        from benchmarks import relevance

        report["relevance"] = relevance.measure(args.suite, args.workdir / "relevance", args.half)
        relevance.print_table(report["relevance"])
    report["seconds"] = round(time.perf_counter() - started, 1)
    args.output.mkdir(parents=True, exist_ok=True)
    target = args.output / f"bench-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    target.write_text(json.dumps(report, indent=2))
    print(f"\nwritten: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
