"""The engines compared: searchsvc, plain Whoosh as written in an afternoon, and tantivy.

searchsvc builds its index with its own corpus readers (their checks are part
of its build time); the two references read the JSON Lines file with the
standard library, as an afternoon's script would. All answer the same
BenchQuery set: top 10 of the requested page, with snippets. Only searchsvc
groups paragraphs into articles; the two references search paragraphs.
"""

from __future__ import annotations

import json
import re
from calendar import monthrange
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a type only: the baseline's build process does not load searchsvc
    from benchmarks.queries import BenchQuery

PAGE_SIZE = 10
_DATE = re.compile(r"\bdate:(\d{4})-(\d{2})\b")


def paragraphs(corpus: Path):
    """(article id, date or None, paragraph text) of a JSON Lines corpus, streamed.

    Paragraphs are the "body" split at blank lines, or the "paragraphs" list.
    """
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            body = record.get("body")
            parts = body.split("\n\n") if isinstance(body, str) else record.get("paragraphs") or []
            article_id, date = str(record["id"]), _instant(record.get("date"))
            for part in parts:
                if part.strip():
                    yield article_id, date, part.strip()


def _instant(text) -> datetime | None:
    """An ISO 8601 date as a naive UTC datetime; None if absent or not ISO 8601."""
    try:
        moment = datetime.fromisoformat(text) if text else None
    except (TypeError, ValueError):
        return None
    if moment is not None and moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _month(query: str) -> tuple[str, tuple[datetime, datetime] | None]:
    """Split `date:YYYY-MM` off a query, as (rest, (first instant, last instant))."""
    match = _DATE.search(query)
    if not match:
        return query, None
    year, month = int(match[1]), int(match[2])
    last = monthrange(year, month)[1]
    span = (datetime(year, month, 1), datetime(year, month, last, 23, 59, 59))
    return _DATE.sub(" ", query).strip(), span


# -- searchsvc -------------------------------------------------------------------------


def build_searchsvc(corpus: Path, index: Path, full: bool = True):
    from searchsvc.index.indexer import reindex

    return reindex([corpus], index, full=full)


class SearchsvcEngine:
    name = "searchsvc"

    def __init__(self, index: Path):
        from searchsvc.config import load_config
        from searchsvc.engine.embedded.snapshot import IndexHandle

        # The settings the server would use (headline weight, ranking knobs).
        self.handle = IndexHandle.for_config(load_config({"index": index}))

    def run(self, query: BenchQuery) -> int:
        from searchsvc.search import SearchRequest, search

        request = SearchRequest(q=query.q, page=query.page, size=PAGE_SIZE, sort=query.sort)
        # A fresh snapshot() call per query, as the web app makes per request.
        result = search(self.handle.snapshot(), request)
        return len(result.hits)


# -- plain Whoosh ----------------------------------------------------------------------


def _plain_schema():
    """Id, date and text stored; the date is sortable, since the by-date queries sort on it."""
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import DATETIME, ID, TEXT, Schema

    return Schema(
        id=ID(stored=True),
        date=DATETIME(stored=True, sortable=True),
        text=TEXT(analyzer=StemmingAnalyzer(), stored=True),
    )


def build_plain_whoosh(corpus: Path, index: Path) -> int:
    """One writer with Whoosh's defaults, a document per paragraph."""
    from whoosh import index as whoosh_index

    index.mkdir(parents=True, exist_ok=True)
    ix = whoosh_index.create_in(str(index), _plain_schema())
    writer = ix.writer()
    count = 0
    for article_id, date, paragraph in paragraphs(corpus):
        if date is None:
            writer.add_document(id=article_id, text=paragraph)
        else:
            writer.add_document(id=article_id, date=date, text=paragraph)
        count += 1
    writer.commit()
    return count


class PlainWhooshEngine:
    """One index, a searcher per query, OR grouping, highlights() for snippets."""

    name = "plain-whoosh"

    def __init__(self, index: Path):
        from whoosh import index as whoosh_index
        from whoosh.qparser import OrGroup, QueryParser
        from whoosh.qparser.dateparse import DateParserPlugin

        self.ix = whoosh_index.open_dir(str(index))
        self.parser = QueryParser("text", self.ix.schema, group=OrGroup)
        self.parser.add_plugin(DateParserPlugin(free=False))

    def run(self, query: BenchQuery) -> int:
        parsed = self.parser.parse(query.q)
        with self.ix.searcher() as searcher:
            if query.sort == "date":
                page = searcher.search_page(
                    parsed, query.page, PAGE_SIZE, sortedby="date", reverse=True
                )
            else:
                page = searcher.search_page(parsed, query.page, PAGE_SIZE)
            snippets = [hit.highlights("text") for hit in page]
            _ = len(page.results)  # the total, as an API would report it
        return len(snippets)


# -- tantivy ---------------------------------------------------------------------------


def _tantivy_schema():
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("article_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("text", stored=True, tokenizer_name="en_stem")
    builder.add_date_field("date", stored=True, indexed=True, fast=True)
    return builder.build()


def build_tantivy(corpus: Path, index: Path) -> int:
    import tantivy

    index.mkdir(parents=True, exist_ok=True)
    ix = tantivy.Index(_tantivy_schema(), path=str(index))
    writer = ix.writer(heap_size=100_000_000, num_threads=2)
    count = 0
    for article_id, date, paragraph in paragraphs(corpus):
        document = {"article_id": article_id, "text": paragraph}
        if date is not None:
            document["date"] = date
        writer.add_document(tantivy.Document(**document))
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    return count


class TantivyEngine:
    name = "tantivy"

    def __init__(self, index: Path):
        import tantivy

        self.tantivy = tantivy
        self.ix = tantivy.Index.open(str(index))
        self.ix.reload()
        self.schema = self.ix.schema
        self.searcher = self.ix.searcher()

    def run(self, query: BenchQuery) -> int:
        t = self.tantivy
        text, span = _month(query.q)
        parsed, _errors = self.ix.parse_query_lenient(text, ["text"])
        if span is not None:
            dates = t.Query.range_query(self.schema, "date", t.FieldType.Date, *span)
            parsed = t.Query.boolean_query([(t.Occur.Must, parsed), (t.Occur.Must, dates)])
        offset = (query.page - 1) * PAGE_SIZE
        if query.sort == "date":
            result = self.searcher.search(parsed, PAGE_SIZE, offset=offset, order_by_field="date")
        else:
            result = self.searcher.search(parsed, PAGE_SIZE, offset=offset)
        generator = t.SnippetGenerator.create(self.searcher, parsed, self.schema, "text")
        snippets = [
            generator.snippet_from_doc(self.searcher.doc(address)).to_html()
            for _key, address in result.hits
        ]
        return len(snippets)


BUILDERS = {
    "searchsvc": build_searchsvc,
    "plain-whoosh": build_plain_whoosh,
    "tantivy": build_tantivy,
}
ENGINES = {
    "searchsvc": SearchsvcEngine,
    "plain-whoosh": PlainWhooshEngine,
    "tantivy": TantivyEngine,
}
