"""Relevance evaluation: run a query set through search() and score it against qrels.

Every query goes through the same `search()` the API calls (same parsing, same
ranking, no snippets). Metrics come from ir-measures; a query that finds nothing,
or that the parser rejects, scores zero and is never dropped from the means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

MEASURE_NAMES = ("MAP", "nDCG@10", "P@10", "MRR@10", "Recall@100")
RUN_TAG = "searchsvc"


class EvalInputError(ValueError):
    """A queries or qrels file cannot be used; the message names the file and line."""


@dataclass
class Evaluation:
    means: dict[str, float]  # measure name (MEASURE_NAMES) -> mean over every judged query
    per_query: dict[str, dict[str, float]]  # qid -> measure name -> value
    queries: int  # judged queries evaluated
    empty: list[str] = field(default_factory=list)  # qids that found nothing
    failed: dict[str, str] = field(default_factory=dict)  # qid -> why the query was rejected
    unjudged: list[str] = field(default_factory=list)  # qids with no qrels (not scored)


def _measures() -> dict:
    from ir_measures import AP, RR, P, R, nDCG

    return {
        "MAP": AP,
        "nDCG@10": nDCG @ 10,
        "P@10": P @ 10,
        "MRR@10": RR @ 10,
        "Recall@100": R @ 100,
    }


def read_queries(path: Path) -> dict[str, str]:
    """`qid<TAB>query text` per line, in file order; blank lines are skipped."""
    queries: dict[str, str] = {}
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        qid, tab, text = line.partition("\t")
        qid = qid.strip()
        if not tab or not qid:
            raise EvalInputError(f"{path}:{number}: expected 'qid<TAB>query text', got {line!r}")
        if qid in queries:
            raise EvalInputError(f"{path}:{number}: query id {qid!r} appears twice")
        queries[qid] = text.strip()
    if not queries:
        raise EvalInputError(f"{path}: no queries")
    return queries


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """TREC qrels, `qid iteration docid relevance` per line -> {qid: {docid: relevance}}."""
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(_lines(path), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise EvalInputError(f"{path}:{number}: expected 'qid 0 docid relevance', got {line!r}")
        qid, _, docid, relevance = parts
        try:
            qrels.setdefault(qid, {})[docid] = int(relevance)
        except ValueError:
            raise EvalInputError(
                f"{path}:{number}: relevance must be an integer, got {relevance!r}"
            ) from None
    if not qrels:
        raise EvalInputError(f"{path}: no judgements")
    return qrels


def _lines(path: Path) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise EvalInputError(f"{path}: cannot read: {error}") from None


def run_queries(
    snapshot, queries: dict[str, str], depth: int, max_window: int, collapse: bool = True
) -> tuple[dict[str, list[tuple[tuple[str, ...], float]]], dict[str, str]]:
    """Each query through search() -> ({qid: [((hit id, *its versions' ids), score), ...]},
    {qid: error}); `collapse` False lists every version of a story as a hit of its own."""
    from searchsvc.search import SearchRequest, search

    size = min(depth, max_window)
    run: dict[str, list[tuple[tuple[str, ...], float]]] = {}
    failed: dict[str, str] = {}
    for qid, text in queries.items():
        try:
            request = SearchRequest(q=text, size=size, snippets=0, collapse=collapse)
            result = search(snapshot, request)
        except Exception as error:  # a bug on one query must not lose the whole run
            failed[qid] = f"search failed: {type(error).__name__}: {error}"
            run[qid] = []
            continue
        # An empty query is listed newest first, with no relevance score.
        run[qid] = [
            ((hit.id, *(version["id"] for version in hit.versions)), hit.score or 0.0)
            for hit in result.hits
        ]
    return run, failed


def as_found(
    shown: dict[str, list[tuple[tuple[str, ...], float]]],
    qrels: dict[str, dict[str, int]],
    depth: int,
) -> dict[str, list[tuple[str, float]]]:
    """The run as scored: each hit at its place, or, when the hit is a story whose other
    versions are judged relevant, those versions found there (a story shown is each of its
    versions shown; unjudged versions take no place)."""
    run = {}
    for qid, hits in shown.items():
        judged = qrels.get(qid, {})
        ranked: list[tuple[str, float]] = []
        for ids, score in hits:
            relevant = sorted((i for i in ids if judged.get(i, 0) > 0), key=lambda i: -judged[i])
            ranked += [(i, score) for i in (relevant or ids[:1])]
        run[qid] = ranked[:depth]
    return run


def write_run(run: dict[str, list[tuple[str, float]]], path: Path, tag: str = RUN_TAG) -> None:
    """A TREC run file: `qid Q0 docid rank score tag`, ranks from 1."""
    with Path(path).open("w", encoding="utf-8") as out:
        for qid, ranked in run.items():
            for rank, (docid, score) in enumerate(ranked, start=1):
                out.write(f"{qid} Q0 {docid} {rank} {score:.6f} {tag}\n")


def score_run(
    run: dict[str, list[tuple[str, float]]], qrels: dict[str, dict[str, int]]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Means over every qrels query (missing or empty runs count as zero), and per query."""
    import ir_measures

    measures = _measures()
    by_measure = {measure: name for name, measure in measures.items()}
    # Scores must strictly order the ranking as shown: ir-measures re-sorts by score
    # (ties by docid), so the rank position is encoded instead of the raw score.
    scored_run = {
        qid: {docid: float(len(ranked) - rank) for rank, (docid, _) in enumerate(ranked)}
        for qid, ranked in run.items()
        if ranked and qid in qrels
    }
    per_query = {qid: dict.fromkeys(measures, 0.0) for qid in qrels}
    for metric in ir_measures.iter_calc(list(measures.values()), qrels, scored_run):
        value = metric.value
        per_query[metric.query_id][by_measure[metric.measure]] = (
            0.0 if math.isnan(value) else float(value)
        )
    count = len(per_query)
    means = {name: sum(q[name] for q in per_query.values()) / count for name in measures}
    return means, per_query


def evaluate(
    snapshot,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    depth: int = 100,
    max_window: int = 10_000,
    run_path: Path | None = None,
    collapse: bool = True,
) -> Evaluation:
    """Run the judged queries, optionally write the run file, and score it."""
    judged = {qid: text for qid, text in queries.items() if qid in qrels}
    unjudged = [qid for qid in queries if qid not in qrels]
    missing = [qid for qid in qrels if qid not in queries]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise EvalInputError(f"{len(missing)} judged queries have no text: {shown}")
    shown, failed = run_queries(snapshot, judged, depth, max_window, collapse)
    run = as_found(shown, qrels, min(depth, max_window))
    if run_path is not None:
        write_run(run, run_path)
    means, per_query = score_run(run, qrels)
    empty = [qid for qid, ranked in run.items() if not ranked]
    return Evaluation(means, per_query, len(judged), empty, failed, unjudged)


def format_table(evaluation: Evaluation) -> str:
    names = MEASURE_NAMES
    widths = [max(len(name), 6) for name in names]
    header = "  ".join(name.rjust(width) for name, width in zip(names, widths, strict=True))
    values = "  ".join(
        f"{evaluation.means[name]:.4f}".rjust(width)
        for name, width in zip(names, widths, strict=True)
    )
    lines = [header, values, "", f"{evaluation.queries} queries"]
    if evaluation.empty:
        lines.append(f"{len(evaluation.empty)} found nothing (scored zero)")
    if evaluation.unjudged:
        lines.append(f"{len(evaluation.unjudged)} queries without judgements were not run")
    return "\n".join(lines)
