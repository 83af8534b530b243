"""The relevance part: searchsvc and out-of-the-box engines on the judged sets, side by side.

Every engine indexes each set's corpus (headline and text as one field, the
way each is set up in an afternoon) and answers its queries (top 100); the
runs are scored with the same code as `searchsvc eval`, so every figure is a
ratio measured in the same run. Engines that are not installed are skipped.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from searchsvc.evaluation.runs import score_run
from searchsvc.evaluation.suite import find_sets, in_half, primary_measure

DEPTH = 100
BASELINES = ("plain-whoosh", "bm25s", "tantivy")


def _records(corpus: Path):
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                record = json.loads(line)
                text = " ".join(str(record.get(k) or "") for k in ("title", "body")).strip()
                yield str(record["id"]), text


def _fresh(directory: Path) -> None:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)


def run_plain_whoosh(corpus: Path, queries: dict[str, str], workdir: Path) -> dict:
    """Whoosh's StemmingAnalyzer and BM25F, OR grouping: what a developer writes first."""
    from whoosh import index as whoosh_index
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.qparser import OrGroup, QueryParser

    _fresh(workdir)
    schema = Schema(id=ID(stored=True), text=TEXT(analyzer=StemmingAnalyzer()))
    ix = whoosh_index.create_in(str(workdir), schema)
    writer = ix.writer()
    for docid, text in _records(corpus):
        writer.add_document(id=docid, text=text)
    writer.commit()
    parser = QueryParser("text", ix.schema, group=OrGroup)
    run = {}
    with ix.searcher() as searcher:
        for qid, text in queries.items():
            try:
                hits = searcher.search(parser.parse(text), limit=DEPTH)
                run[qid] = [(hit["id"], hit.score) for hit in hits]
            except Exception:  # as written in an afternoon: a query it cannot parse finds nothing
                run[qid] = []
    return run


def run_bm25s(corpus: Path, queries: dict[str, str], workdir: Path) -> dict:
    """bm25s with its English stop words and, when PyStemmer is installed, Snowball stems."""
    import bm25s

    try:
        import Stemmer

        stemmer = Stemmer.Stemmer("english")
    except ImportError:
        stemmer = None
    ids, texts = zip(*_records(corpus), strict=True)
    tokens = bm25s.tokenize(list(texts), stopwords="en", stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    qids = list(queries)
    asked = bm25s.tokenize([queries[q] for q in qids], stopwords="en", stemmer=stemmer,
                           show_progress=False)  # fmt: skip
    k = min(DEPTH, len(ids))
    found, scores = retriever.retrieve(asked, k=k, show_progress=False, n_threads=1)
    return {
        qid: [(ids[d], float(s)) for d, s in zip(found[i], scores[i], strict=True) if s > 0]
        for i, qid in enumerate(qids)
    }


def run_tantivy(corpus: Path, queries: dict[str, str], workdir: Path) -> dict:
    """tantivy's English stemming tokenizer and lenient query parser."""
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("text", tokenizer_name="en_stem")
    schema = builder.build()
    _fresh(workdir)  # tantivy adds to an index already there
    ix = tantivy.Index(schema, path=str(workdir))
    writer = ix.writer(heap_size=100_000_000, num_threads=1)
    for docid, text in _records(corpus):
        writer.add_document(tantivy.Document(id=docid, text=text))
    writer.commit()
    writer.wait_merging_threads()
    ix.reload()
    searcher = ix.searcher()
    run = {}
    for qid, text in queries.items():
        query, _errors = ix.parse_query_lenient(text, ["text"])
        hits = searcher.search(query, DEPTH).hits
        run[qid] = [(searcher.doc(address)["id"][0], score) for score, address in hits]
    return run


RUNNERS = {"plain-whoosh": run_plain_whoosh, "bm25s": run_bm25s, "tantivy": run_tantivy}


def available(engine: str) -> bool:
    import importlib.util

    module = {"bm25s": "bm25s", "tantivy": "tantivy"}.get(engine)
    return module is None or importlib.util.find_spec(module) is not None


def measure(suite: Path, workdir: Path, half: str = "all") -> dict:
    """{set: {"primary", "queries", engine: {measure: value}}} for searchsvc and the baselines."""
    from searchsvc.config import load_config
    from searchsvc.engine.embedded.snapshot import IndexHandle
    from searchsvc.evaluation.suite import cached_index, evaluate_set

    results = {}
    for judged in find_sets(suite):
        qrels = {q: docs for q, docs in judged.qrels().items() if in_half(q, half)}
        queries = {q: text for q, text in judged.queries().items() if q in qrels}
        row = {"primary": primary_measure(judged.qrels()), "queries": len(queries)}
        index, _ = cached_index(judged, workdir / "searchsvc")
        print(f"[relevance] {judged.name}: searchsvc ...", flush=True)
        handle = IndexHandle.for_config(load_config({"index": index}))
        row["searchsvc"] = evaluate_set(judged, handle.snapshot(), half).means
        for engine in BASELINES:
            if not available(engine):
                continue
            print(f"[relevance] {judged.name}: {engine} ...", flush=True)
            run = RUNNERS[engine](judged.corpus, queries, workdir / engine / judged.name)
            row[engine] = score_run(run, qrels)[0]
        results[judged.name] = row
    return results


def print_table(results: dict) -> None:
    engines = [e for e in BASELINES if any(e in row for row in results.values())]
    print("\n## relevance: each set's primary measure (ratio of searchsvc to the best baseline)")
    print(f"{'set':22} {'measure':>8} {'searchsvc':>10}" + "".join(f" {e:>12}" for e in engines)
          + f" {'ratio':>7}")  # fmt: skip
    ratios = []
    for name, row in results.items():
        primary = row["primary"]
        ours = row["searchsvc"][primary]
        best = max((row[e][primary] for e in engines if e in row), default=None)
        ratio = ours / best if best else None
        if ratio is not None:
            ratios.append(ratio)
        cells = "".join(f" {row[e][primary]:12.4f}" if e in row else f" {'-':>12}" for e in engines)
        shown = f"{ratio:6.3f}x" if ratio is not None else f"{'-':>7}"
        print(f"{name:22} {primary:>8} {ours:10.4f}{cells} {shown}")
    if ratios:
        print(f"{'mean ratio':{len(engines) * 13 + 42}} {sum(ratios) / len(ratios):6.3f}x")
    print("primary measure: MRR@10 where every query has one relevant document, else MAP")
