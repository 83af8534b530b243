"""The benchmark suite runs end to end on a tiny corpus; its query set and generator are fixed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # benchmarks/ is not an installed package

from benchmarks import queries as query_set  # noqa: E402
from benchmarks.engines import paragraphs  # noqa: E402
from benchmarks.measure import percentiles, time_interleaved  # noqa: E402
from benchmarks.scale import generate  # noqa: E402
from searchsvc.ingest.corpus import CorpusFile, discover, read_file  # noqa: E402
from searchsvc.model.articles import Article  # noqa: E402

WORDS = "oil cocoa wheat opec prices shares bank trade dollar profit".split()


def tiny_corpus(path: Path, articles: int = 40) -> Path:
    lines = []
    for n in range(articles):
        w = [WORDS[(n + k) % len(WORDS)] for k in range(6)]
        lines.append(json.dumps({
            "id": f"t{n}", "title": f"{w[0].upper()} {w[1].upper()} {w[2].upper()} NEWS",
            "date": f"1987-0{1 + n % 9}-1{n % 10}T10:00:00", "source": "Reuters",
            "body": f"{' '.join(w)} rose.\n\nAnalysts said {w[3]} and {w[4]} fell.",
        }))  # fmt: skip
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_the_versioned_query_set_has_every_class():
    queries = query_set.load()
    assert len(queries) >= 300
    assert {q.kind for q in queries} == set(query_set.CLASSES)
    assert all(q.page > 1 for q in queries if q.kind == "deep-page")
    assert all(q.sort == "date" for q in queries if q.kind == "by-date")
    assert all("date:" in q.q for q in queries if q.kind == "date")
    assert len(query_set.load(limit=14)) == 14


def test_query_generation_and_scaling_are_deterministic(tmp_path):
    corpus = tiny_corpus(tmp_path / "tiny.jsonl")
    assert query_set.generate(corpus) == query_set.generate(corpus)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    paragraphs = generate(corpus, 2, first)
    generate(corpus, 2, second)
    assert first.read_bytes() == second.read_bytes()
    assert len(first.read_text().splitlines()) == 80 and paragraphs == 160


def searchsvc_paragraphs(corpus: Path) -> list[tuple]:
    """What searchsvc's readers give its indexer, in the shape of the references' reader."""
    return [(record.id, record.sort_date, paragraph)
            for item in discover([corpus]) if isinstance(item, CorpusFile)
            for record in read_file(item) if isinstance(record, Article)
            for paragraph in record.paragraphs]  # fmt: skip


@pytest.mark.parametrize(
    "record",
    [
        {"id": "a", "date": "1987-02-26T15:01:01", "body": "One two.\n\nThree  four.\n\n\n"},
        {"id": "b", "date": "1987-02-26", "title": "T", "body": "  Lead.\n\nMore text\nhere."},
        {"id": "c", "title": "No date", "body": "Only one paragraph."},
        {"id": "d", "title": "Scaled", "date": "1987-03-01T00:00:00", "paragraphs": ["x y", "z"]},
        {"id": 7, "title": "Number id, no body", "body": ""},
    ],
)
def test_the_baseline_reads_the_paragraphs_and_dates_searchsvc_indexes(tmp_path, record):
    corpus = tmp_path / "one.jsonl"
    corpus.write_text(json.dumps(record) + "\n", "utf-8")
    ours = [(i, d, " ".join(p.split())) for i, d, p in paragraphs(corpus)]
    assert ours == searchsvc_paragraphs(corpus)


def test_the_baseline_reads_the_tiny_corpus_as_searchsvc_does(tmp_path):
    corpus = tiny_corpus(tmp_path / "tiny.jsonl")
    assert list(paragraphs(corpus)) == searchsvc_paragraphs(corpus)
    assert len(searchsvc_paragraphs(corpus)) == 80


@pytest.mark.parametrize(
    ("samples", "p50", "p95"),
    [([], None, None), ([5.0], 5.0, 5.0), (list(map(float, range(1, 101))), 50.5, 96.0)],
)
def test_percentiles(samples, p50, p95):
    summary = percentiles(samples)
    assert summary["n"] == len(samples)
    assert summary.get("p50") == p50 and summary.get("p95") == p95


def test_interleaved_timing_runs_each_query_on_each_engine_in_turn():
    ran = []

    class Engine:
        def __init__(self, name):
            self.name = name

        def run(self, query):
            ran.append((self.name, query.q))
            if self.name == "b" and query.q == "bad":
                raise ValueError("no such thing")

    queries = [query_set.BenchQuery("one-word", q) for q in ("x", "y", "bad", "z")]
    timing = time_interleaved({"a": Engine("a"), "b": Engine("b")}, queries, warmup=0)
    assert ran == [("a", "x"), ("b", "x"), ("b", "y"), ("a", "y"),
                   ("a", "bad"), ("b", "bad"), ("b", "z"), ("a", "z")]  # fmt: skip
    assert timing["a"]["all"]["n"] == 4 and timing["a"]["errors"] == 0
    assert timing["b"]["all"]["n"] == 3 and timing["b"]["errors"] == 1


@pytest.mark.slow
def test_scale_part_measures_growth_with_queries_taking_turns(tmp_path):
    corpus = tiny_corpus(tmp_path / "tiny.jsonl")
    out = tmp_path / "results"
    command = [sys.executable, "-m", "benchmarks", "--corpus", str(corpus), "--only",
               "index,query,scale", "--scale", "2", "--engines", "searchsvc", "--queries", "7",
               "--workdir", str(tmp_path / "work"), "--output", str(out)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "searchsvc growth, queries taking turns" in done.stdout
    (result,) = out.glob("bench-*.json")
    growth = json.loads(result.read_text())["growth"]
    assert sorted(growth) == ["2x", "base"]
    assert all(timing["all"]["n"] == 7 and timing["errors"] == 0 for timing in growth.values())


@pytest.mark.slow
def test_suite_runs_and_writes_json(tmp_path):
    corpus = tiny_corpus(tmp_path / "tiny.jsonl")
    out = tmp_path / "results"
    command = [sys.executable, "-m", "benchmarks", "--corpus", str(corpus), "--only", "query",
               "--engines", "searchsvc,plain-whoosh", "--queries", "14",
               "--workdir", str(tmp_path / "work"), "--output", str(out)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "queries in process" in done.stdout
    (result,) = out.glob("bench-*.json")
    run = json.loads(result.read_text())["runs"]["reuters"]
    for engine in ("searchsvc", "plain-whoosh"):
        assert run["query"][engine]["errors"] == 0
        assert run["query"][engine]["all"]["n"] == 14


def test_bad_arguments_are_a_usage_error(tmp_path):
    command = [sys.executable, "-m", "benchmarks", "--only", "nonsense",
               "--corpus", str(tiny_corpus(tmp_path / "t.jsonl"))]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "unknown part or engine: nonsense" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_relevance_part_runs_the_engines_side_by_side(tmp_path):
    suite = tmp_path / "suite" / "tiny"
    suite.mkdir(parents=True)
    records = [{"id": f"d{n}", "title": f"{WORDS[n]} news", "body": f"{WORDS[n]} {WORDS[n - 1]}"}
               for n in range(len(WORDS))]  # fmt: skip
    (suite / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    (suite / "queries.tsv").write_text("q1\tcocoa\nq2\tbank trade\n", "utf-8")
    (suite / "qrels.txt").write_text("q1 0 d1 1\nq2 0 d7 1\n", "utf-8")
    out = tmp_path / "results"
    command = [sys.executable, "-m", "benchmarks", "--only", "relevance",
               "--suite", str(tmp_path / "suite"), "--workdir", str(tmp_path / "work")]  # fmt: skip
    rows = []
    for run in ("first", "again"):  # a second run over the same workdir builds afresh
        done = subprocess.run(command + ["--output", str(out / run)], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "## relevance" in done.stdout and "tiny" in done.stdout
        (result,) = (out / run).glob("bench-*.json")
        rows.append(json.loads(result.read_text())["relevance"]["tiny"])
    row = rows[0]
    assert row["primary"] == "MRR@10" and row["queries"] == 2
    assert row["searchsvc"]["MRR@10"] == 1.0  # each query's words are in its document only
    assert row["plain-whoosh"]["MRR@10"] > 0
    assert rows[1] == rows[0]
