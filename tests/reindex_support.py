"""What an index holds, read back whole, so that two builds can be compared.

No tests here. `index_contents` reads every live document of both Whoosh
indexes (stored records, and every indexed term with its frequency and the
field lengths), the generation's info.json and its did-you-mean word counts;
`full_build_beside` gives what a full build of the same files serves.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path

from searchsvc.index import store
from searchsvc.index import words as word_counts
from searchsvc.index.indexer import STORIES_FILE, ReindexReport, reindex

ARTICLE_FIELDS = ("id", "title", "body", "date", "source", "topic")


def _terms_by_doc(reader, fields) -> dict[int, tuple]:
    """{docnum: ((field, term, frequency), ...) plus field lengths} for live documents."""
    found: dict[int, list] = defaultdict(list)
    for field in fields:
        for term in reader.lexicon(field):
            postings = reader.postings(field, term)  # skips deleted documents
            while postings.is_active():
                found[postings.id()].append((field, term, postings.weight()))
                postings.next()
    for docnum in list(found):
        # Whoosh gives None or 0 for an empty field, by whether its segment has lengths.
        lengths = tuple(reader.doc_field_length(docnum, field) or 0 for field in fields)
        found[docnum] = (tuple(sorted(found[docnum])), lengths)
    return found


def index_contents(index_dir: Path) -> dict:
    """Every article and paragraph an index serves, keyed by article id."""
    generation = store.current_generation(index_dir)
    articles, paragraphs = generation.open_indexes()
    try:
        with articles.searcher() as searcher:
            reader = searcher.reader()
            terms = _terms_by_doc(reader, ARTICLE_FIELDS)
            live = list(reader.iter_docs())
            ids = [fields["id"] for _docnum, fields in live]
            assert len(ids) == len(set(ids)), f"an id indexed twice: {Counter(ids).most_common(3)}"
            by_id = {
                fields["id"]: {"record": json.loads(fields["record"]), "terms": terms[docnum]}
                for docnum, fields in live
            }
        with paragraphs.searcher() as searcher:
            reader = searcher.reader()
            owner = {}
            for term in reader.lexicon("article_id"):
                postings = reader.postings("article_id", term)
                while postings.is_active():
                    owner[postings.id()] = term.decode("utf-8")
                    postings.next()
            bags = _terms_by_doc(reader, ("text",))
            grouped: dict[str, list] = defaultdict(list)
            for docnum in reader.all_doc_ids():
                grouped[owner[docnum]].append(bags.get(docnum))
    finally:
        articles.close()
        paragraphs.close()
    for article_id, paragraph_list in grouped.items():
        by_id.setdefault(article_id, {"record": None, "terms": None})
        by_id[article_id]["paragraphs"] = sorted(paragraph_list, key=repr)
    for entry in by_id.values():
        entry.setdefault("paragraphs", [])
    info = generation.info()
    return {
        "articles": by_id,
        "info": (info["articles"], info["paragraphs"]),
        "words": +(word_counts.load_word_counts(generation.path) or Counter()),
        "stories": store.read_json(generation.path / STORIES_FILE),
    }


def assert_consistent(contents: dict) -> None:
    """info.json and the word counts agree with the documents themselves."""
    articles = contents["articles"]
    assert all(entry["record"] is not None for entry in articles.values()), "orphan paragraphs"
    paragraphs = sum(len(entry["paragraphs"]) for entry in articles.values())
    assert contents["info"] == (len(articles), paragraphs)
    words = Counter()
    for entry in articles.values():
        words.update(word_counts.article_words(entry["record"]))
    assert contents["words"] == +words


def generation_dirs(index_dir: Path) -> tuple[list[str], list[str]]:
    """(complete, incomplete) generation directory names."""
    names = sorted(p for p in index_dir.glob(store.PREFIX + "*") if p.is_dir())
    complete = [p.name for p in names if (p / "info.json").exists()]
    return complete, [p.name for p in names if p.name not in complete]


def full_build_beside(roots: list[Path], index_dir: Path) -> tuple[ReindexReport, dict]:
    """`reindex --full` of the same files on a copy of the served index (whose copies a
    full build keeps for files it cannot read): what an incremental run must equal."""
    beside = index_dir.with_name(index_dir.name + "-full")
    shutil.rmtree(beside, ignore_errors=True)
    shutil.copytree(index_dir, beside)
    try:
        report = reindex(roots, beside, full=True)
        return report, index_contents(beside)
    finally:
        shutil.rmtree(beside, ignore_errors=True)
