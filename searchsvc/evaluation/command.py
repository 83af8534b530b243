"""The `searchsvc eval` command: one judged set (runs.py) or the suite of sets (suite.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from searchsvc.config import ENGINES, setting_help
from searchsvc.evaluation.runs import (
    EvalInputError,
    evaluate,
    format_table,
    read_qrels,
    read_queries,
)
from searchsvc.evaluation.suite import default_cache, format_suite, in_half, mean_ratio, run_suite


def _positive(ctx, param, value: int) -> int:
    if value < 1:
        raise click.BadParameter(f"must be at least 1, got {value}")
    return value


@click.command("eval")
@click.option("--queries", "queries_path",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Queries, one 'qid<TAB>query text' a line.")  # fmt: skip
@click.option("--qrels", "qrels_path",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TREC qrels: 'qid 0 docid relevance' a line.")  # fmt: skip
@click.option("--suite", "suite_dir",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Evaluate every set in this folder (each: corpus.jsonl, queries.tsv, "
                   "qrels.txt, optionally baselines.tsv), not --queries/--qrels.")  # fmt: skip
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path),
              help="With --suite: where each set's index is kept and reused (with "
                   "--engine opensearch: the stamps of the aliases <opensearch_index>-eval-<set>) "
                   "[default ~/.cache/searchsvc/eval].")  # fmt: skip
@click.option("--half", type=click.Choice(["all", "tune", "test"]), default="all",
              show_default=True,
              help="Only the queries of one half: by SHA-1 of the query id, even last byte "
                   "'tune', odd 'test'.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--index", "index", type=click.Path(file_okay=False, path_type=Path),
              help="Directory that holds the search index. [env SEARCHSVC_INDEX]")  # fmt: skip
@click.option("--run", "run_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the ranking as a TREC run file here.")  # fmt: skip
@click.option("--depth", default=100, show_default=True, type=int, callback=_positive,
              help="Articles retrieved per query.")  # fmt: skip
@click.option("--per-query", is_flag=True, help="Also print each query's MRR@10 and nDCG@10.")
@click.option("--engine", "engine", type=click.Choice(ENGINES), help=setting_help("engine"))
@click.option("--collapse/--no-collapse", default=True, show_default=True,
              help="One hit per story, as the search box shows it (a story counts as each of "
                   "its judged versions at the hit's place); --no-collapse lists every "
                   "version as a hit of its own, as an engine without stories does.")  # fmt: skip
def eval_command(queries_path, qrels_path, suite_dir, cache_dir, half, as_json, index, run_path,
                 depth, per_query, engine, collapse):  # fmt: skip
    """Measure ranking quality on judged queries (MAP, nDCG@10, P@10, MRR@10, Recall@100).

    Each query goes through the same search (parsing, ranking) as the search
    box, with --depth hits in one page and no snippets; the box's length and
    page-size limits do not apply. A query that finds nothing scores zero.
    With --suite, every set in the folder is run on an index of its own
    (built once into --cache, or once into an alias of its own on the
    OpenSearch cluster), and one table compares each with the best engine of
    its baselines.tsv.

    Examples: searchsvc eval --queries queries.tsv --qrels qrels.txt --run run.txt;
    searchsvc eval --suite ../shared/eval --half test
    """
    if suite_dir is not None:
        if queries_path or qrels_path or run_path or index:
            raise click.UsageError("--suite runs its own sets: leave out --queries, --qrels, "
                                   "--run and --index")  # fmt: skip
        _eval_suite(suite_dir, cache_dir, half, depth, as_json, engine, collapse)
        return
    if not queries_path or not qrels_path:
        raise click.UsageError("give --queries and --qrels, or --suite")
    from searchsvc.config import load_config
    from searchsvc.engine import open_engine
    from searchsvc.model.errors import EngineUnavailable, IndexMissing

    try:
        config = load_config({"index": index, "engine": engine})
        queries = read_queries(queries_path)
        qrels = read_qrels(qrels_path)
        if half != "all":
            qrels = {qid: docs for qid, docs in qrels.items() if in_half(qid, half)}
            queries = {qid: text for qid, text in queries.items() if qid in qrels}
        view = open_engine(config).view()
        result = evaluate(view, queries, qrels, depth, config.max_result_window, run_path, collapse)
    except (EvalInputError, ValueError, OSError, IndexMissing, EngineUnavailable) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps({"queries": result.queries, "means": result.means,
                               "empty": len(result.empty), "failed": result.failed}))  # fmt: skip
        return
    if per_query:
        for qid, values in result.per_query.items():
            click.echo(f"{qid}\tMRR@10 {values['MRR@10']:.4f}\tnDCG@10 {values['nDCG@10']:.4f}")
        click.echo()
    click.echo(format_table(result))
    for qid, reason in list(result.failed.items())[:10]:
        click.echo(f"query {qid} rejected (scored zero): {reason}", err=True)


def _eval_suite(suite_dir: Path, cache_dir: Path | None, half: str, depth: int, as_json: bool,
                engine: str | None, collapse: bool = True):  # fmt: skip
    from searchsvc.config import load_config
    from searchsvc.index import store
    from searchsvc.model.errors import EngineUnavailable

    failures = (EvalInputError, ValueError, OSError, store.IndexMissing, EngineUnavailable,
                store.ReindexBusy, store.ReindexFailed)  # fmt: skip
    try:
        config = load_config({"engine": engine})
        results = run_suite(suite_dir, cache_dir or default_cache(), half, depth, config, collapse)
    except failures as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        ratio = mean_ratio(results)
        body = {"half": half, "collapse": collapse, "sets": [r.to_dict() for r in results],
                "mean_ratio": None if ratio is None else round(ratio, 4)}  # fmt: skip
        click.echo(json.dumps(body, indent=2))
    else:
        click.echo(format_suite(results, half, collapse))
    for r in results:
        for qid, reason in list(r.failed.items())[:5]:
            click.echo(f"{r.name}: query {qid} rejected (scored zero): {reason}", err=True)
