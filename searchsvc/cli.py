"""The `searchsvc` command: reindex, search, serve, eval.

Exit status: 0 success; 1 an error stopped the command (a reindex that cannot
write its index says why in one line; the index served before still serves);
2 bad usage; 3 reindex finished but skipped files or records, or met a file
that changed while it was read (listed on stderr);
4 another reindex holds the index and --lock-timeout ran out.
"""

from __future__ import annotations

import html
import json
import re
import sys
from contextlib import nullcontext
from pathlib import Path

import click

from searchsvc.config import ENGINES, load_config, setting_help
from searchsvc.index import store
from searchsvc.model.errors import EngineUnavailable, IndexMissing

EXIT_SKIPPED = 3
EXIT_BUSY = 4
PROBLEMS_SHOWN = 50


class BusyError(click.ClickException):
    exit_code = EXIT_BUSY


def _config(**overrides):
    try:
        return load_config(overrides)
    except ValueError as error:
        raise click.UsageError(str(error)) from None


index_option = click.option(
    "--index", "index", type=click.Path(file_okay=False, path_type=Path),
    help=setting_help("index"),
)  # fmt: skip
engine_option = click.option(
    "--engine", "engine", type=click.Choice(ENGINES), help=setting_help("engine")
)
corpus_option = click.option(
    "--corpus", "corpus", multiple=True, type=click.Path(path_type=Path),
    help=setting_help("corpus") + " Repeat for several.",
)  # fmt: skip


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="searchsvc")
def main():
    """Full-text search for news archives.

    Index a corpus of plain-text (.txt) and JSON Lines (.jsonl) articles,
    then search it from the command line, over HTTP or in the browser.
    """


@main.command()
@corpus_option
@index_option
@engine_option
@click.option("--full", is_flag=True, help="Rebuild from scratch instead of updating.")
@click.option("--lock-timeout", type=float, help=setting_help("lock_timeout"))
@click.option("-v", "--verbose", is_flag=True, help="List every problem, not just the first 50.")
def reindex(corpus, index, engine, full, lock_timeout, verbose):
    """Bring the index in line with the corpus.

    Only new, changed and deleted files and records are processed (found by
    content hash); --full rebuilds everything. A running server switches to the
    new index by itself. Unreadable files and records are listed with the reason
    and skipped; the rest is indexed and the exit status is 3.

    Example: searchsvc reindex --corpus ~/archive --corpus extra.jsonl
    """
    config = _config(corpus=corpus or None, index=index, engine=engine, lock_timeout=lock_timeout)
    report = run_reindex(config, full=full, verbose=verbose)
    click.echo(report.summary())
    if report.skipped:
        sys.exit(EXIT_SKIPPED)


def run_reindex(config, full: bool = False, verbose: bool = False):
    """Reindex with a progress bar on a terminal; problems go to stderr as they are met."""
    from searchsvc.engine import open_engine
    from searchsvc.ingest.corpus import CorpusFile, discover

    show_bar = sys.stderr.isatty()
    total = sum(
        item.path.stat().st_size
        for item in (discover(config.corpus) if show_bar else ())
        if isinstance(item, CorpusFile)
    )
    bar = click.progressbar(length=total, label="Indexing", file=sys.stderr) if show_bar else None
    try:
        with bar or nullcontext():
            report = open_engine(config).reindex(
                config.corpus,
                full=full,
                lock_timeout=config.lock_timeout,
                progress=bar.update if bar else None,
            )
    except store.ReindexBusy as error:
        raise BusyError(str(error)) from None
    except store.ReindexFailed as error:  # e.g. a full disk: the old index still serves
        raise click.ClickException(str(error)) from None
    except (FileNotFoundError, EngineUnavailable) as error:
        raise click.ClickException(str(error)) from None
    shown = report.problems if verbose else report.problems[:PROBLEMS_SHOWN]
    for problem in shown:
        label = "skipped" if problem.skipped else "warning"
        click.echo(f"{label}: {problem}", err=True)
    if len(shown) < len(report.problems):
        hidden = len(report.problems) - len(shown)
        click.echo(f"... and {hidden} more problems; --verbose lists them all", err=True)
    return report


@main.command("search")
@click.argument("query", required=False, default="")
@index_option
@engine_option
@click.option("--page", default="1", help="Page of results, from 1.")
@click.option("--size", default="10", help="Hits per page.")
@click.option("--since", help="Earliest date: 2017, 2017-03 or 2017-03-22.")
@click.option("--until", help="Latest date, same forms as --since.")
@click.option("--source", help="Only articles from this source.")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance")
@click.option(
    "--collapse/--no-collapse",
    default=True,
    show_default=True,
    help="A story's near-duplicate versions as one hit (counted once).",
)
@click.option("--json", "as_json", is_flag=True, help="Print exactly the body /api/search returns.")
def search_command(query, index, engine, page, size, since, until, source, sort, collapse,
                   as_json):  # fmt: skip
    """Search the index and print the results.

    Example: searchsvc search '"houses of parliament" police' --since 2017
    """
    from searchsvc.engine import open_engine
    from searchsvc.params import ParameterError, search_request
    from searchsvc.search import search

    config = _config(index=index, engine=engine)
    args = {"q": query, "page": page, "size": size, "since": since, "until": until,
            "source": source, "sort": sort, "collapse": str(collapse).lower()}  # fmt: skip
    try:
        request = search_request(args, config)
        result = search(open_engine(config).view(), request)
    except (ParameterError, IndexMissing, EngineUnavailable) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        # The bytes /api/search sends: Flask's JSON is json.dumps, keys in declared order.
        click.echo(json.dumps(result.to_dict()))
        return
    _print_result(result)


def _print_result(result) -> None:
    noun = {"stories": ("story", "stories")}.get(result.counts, ("article", "articles"))
    counted = f"{result.total:,} {noun[result.total != 1]}"
    click.echo(f"{counted} for {result.query!r} ({result.took_ms:.0f} ms)")
    if result.suggestion:
        click.echo(f"Did you mean: {result.suggestion}")
    first = (result.page - 1) * result.size
    for number, hit in enumerate(result.hits, start=first + 1):
        click.echo()
        click.echo(click.style(f"{number}. {hit.title}", bold=True) + f"  [{hit.id}]")
        meta = [m for m in (hit.date and hit.date[:10], hit.source) if m]
        score = [] if hit.score is None else [f"score {hit.score:g}"]
        click.echo("   " + " · ".join(meta + score))
        for snippet in hit.snippets:
            click.echo("   " + _terminal_text(snippet))
        if hit.versions:
            click.echo(f"   and {len(hit.versions)} other version(s): "
                       + ", ".join(version["id"] for version in hit.versions))  # fmt: skip


def _terminal_text(snippet: str) -> str:
    marked = re.sub(r"<mark>(.*?)</mark>", lambda m: click.style(m.group(1), bold=True,
                    fg="yellow"), snippet)  # fmt: skip
    return html.unescape(marked)


@main.command()
@index_option
@engine_option
@corpus_option
@click.option("--host", help=setting_help("host"))
@click.option("--port", type=int, help=setting_help("port"))
@click.option("--workers", type=int, help=setting_help("workers"))
@click.option("--threads", type=int, help=setting_help("threads"))
def serve(index, engine, corpus, host, port, workers, threads):
    """Serve the web UI and JSON API with gunicorn.

    Builds the index from the corpus first when there is none. Reindexing
    while it serves is safe: the server switches to the new index by itself.

    Example: searchsvc serve --port 8080 --workers 2
    """
    from searchsvc.engine import open_engine
    from searchsvc.server import run_server

    config = _config(index=index, engine=engine, corpus=corpus or None, host=host, port=port,
                     workers=workers, threads=threads)  # fmt: skip
    try:
        has_index = open_engine(config).has_index()
    except EngineUnavailable as error:
        raise click.ClickException(str(error)) from None
    if not has_index:
        where = config.index if config.engine == "whoosh" else config.opensearch_index
        click.echo(f"No index in {where}; building it from the corpus first.", err=True)
        report = run_reindex(config)
        click.echo(report.summary(), err=True)
    click.echo(f"Serving on http://{config.host}:{config.port}/", err=True)
    run_server(config)


from searchsvc.evaluation.command import eval_command  # noqa: E402

main.add_command(eval_command, "eval")
