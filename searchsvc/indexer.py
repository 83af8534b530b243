"""Build and update the index from corpus files.

Incremental by default: a file whose content hash is unchanged is not read
again; in a changed file, only records whose content hash changed are
rewritten. An article leaves the index only when its file is gone, or when
its file now reads without a single problem and no longer holds it: a record
that breaks never takes already-indexed articles down with it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from whoosh import index as whoosh_index

from searchsvc import store, suggest
from searchsvc.analysis import term_table
from searchsvc.articles import Article
from searchsvc.codec import PackedPositions
from searchsvc.corpus import CorpusFile, Problem, discover, read_file
from searchsvc.parallel import BackgroundWriter
from searchsvc.schema import article_document, article_schema, paragraph_schema
from searchsvc.segments import SegmentedWriter

MANIFEST_VERSION = 1
TERMS_FILE = "terms.json"
# Each writer closes a segment when its memory is nearly full (segments.py).
# The article index (searched) gets the larger share: Reuters' is 2 segments,
# which search as fast as one, where 5 cost a third more per query; the
# paragraph index (only read for statistics) may have several.
ARTICLE_WRITER_MB = 192
PARAGRAPH_WRITER_MB = 128


@dataclass
class ReindexReport:
    articles: int = 0  # in the index afterwards
    paragraphs: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    files_read: int = 0
    files_unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    generation: str | None = None  # None when nothing changed

    @property
    def skipped(self) -> list[Problem]:
        return [p for p in self.problems if p.skipped]

    def summary(self) -> str:
        changes = f"{self.added} added, {self.updated} updated, {self.removed} removed"
        if self.generation is None:
            changes = "no changes"
        return (
            f"{self.articles} articles, {self.paragraphs} paragraphs ({changes}); "
            f"{self.files_read} files read, {self.files_unchanged} unchanged; "
            f"{len(self.skipped)} skipped, {len(self.problems) - len(self.skipped)} warnings; "
            f"{self.seconds:.1f} s"
        )


Progress = Callable[[int], None]  # called with bytes of corpus handled since the last call


def reindex(
    roots: Iterable[Path],
    index_dir: Path,
    *,
    full: bool = False,
    lock_timeout: float = 0.0,
    progress: Progress | None = None,
) -> ReindexReport:
    """Bring the index in line with the corpus; raises store.ReindexBusy if locked."""
    started = time.monotonic()
    roots = list(roots)
    missing = [str(root) for root in roots if not root.exists()]
    if missing:
        raise FileNotFoundError(f"corpus not found: {', '.join(missing)}")
    with store.writer_lock(index_dir, lock_timeout):
        base, unreadable = _base_generation(index_dir, full)
        run = _Run(index_dir, base, progress or (lambda _n: None))
        if unreadable:
            run.report.problems.append(Problem(str(index_dir), unreadable, skipped=False))
        report = run.execute(roots)
    report.seconds = time.monotonic() - started
    return report


def _base_generation(index_dir: Path, full: bool) -> tuple[store.Generation | None, str]:
    """The generation an incremental run starts from, or None for a full build (and why)."""
    if full:
        return None, ""
    try:
        base = store.current_generation(index_dir)
        articles, paragraphs = base.open_indexes()
        packed = type(articles.schema["body"].format) is PackedPositions
        articles.close()
        paragraphs.close()
    except store.IndexIncompatible:
        return None, "the index was written by another version of searchsvc; rebuilt in full"
    except store.IndexMissing:
        return None, ""
    if not packed:
        # Readable, but its postings are whoosh3's pickled blocks (slow to read);
        # new segments would mix the two layouts.
        return None, "the index was written by an older version of searchsvc; rebuilt in full"
    return base, ""


class _Run:
    """One reindex: compares the corpus with the base manifest and writes the difference."""

    def __init__(self, index_dir: Path, base: store.Generation | None, progress: Progress):
        self.index_dir = index_dir
        self.base = base
        self.progress = progress
        old = base.manifest() if base else {}
        self.old_files: dict[str, dict] = old.get("files", {})
        self.new_files: dict[str, dict] = {}
        self.owner = {
            aid: key for key, entry in self.old_files.items() for aid in entry["articles"]
        }
        self.report = ReindexReport()
        self.generation: store.Generation | None = None
        self.articles_writer: BackgroundWriter | None = None
        self.paragraphs_writer: SegmentedWriter | None = None
        self.paragraph_count = old.get("paragraphs", 0)
        # Surface-word counts for did-you-mean, kept up to date as articles come and
        # go; None when the base has none saved (they are then counted at the end).
        self.words: Counter | None = Counter()
        if base is not None:
            self.words = suggest.load_word_counts(base.path)
        self._base_searcher = None

    def execute(self, roots: list[Path]) -> ReindexReport:
        try:
            for item in discover(roots):
                if isinstance(item, Problem):
                    self.report.problems.append(item)
                else:
                    self._visit(item)
            for key in self.old_files.keys() - self.new_files.keys():
                self._remove_file(key)
            if self.generation is not None:
                self._commit()
            elif self.base is None:
                self._open_generation()  # an empty corpus still makes a servable index
                self._commit()
        except BaseException:
            if self._base_searcher is not None:
                self._base_searcher.close()
            if self.articles_writer is not None:
                self.articles_writer.cancel()
            if self.paragraphs_writer is not None:
                self.paragraphs_writer.cancel()
            raise
        self.report.articles = len(self.owner)
        self.report.paragraphs = self.paragraph_count
        return self.report

    def _visit(self, corpus_file: CorpusFile) -> None:
        key = str(corpus_file.path.resolve())
        if key in self.new_files:  # reached twice (overlapping roots, a link): read once
            return
        try:
            size = corpus_file.path.stat().st_size
            digest = _file_hash(corpus_file.path)
        except OSError as error:
            self.report.problems.append(Problem(str(corpus_file.path), f"cannot be read: {error}"))
            if key in self.old_files:
                self.new_files[key] = self.old_files[key]  # keep what was indexed
            return
        old_entry = self.old_files.get(key)
        if old_entry and old_entry["hash"] == digest:
            self.new_files[key] = old_entry
            self.report.files_unchanged += 1
            self.progress(size)
            return
        self._read_changed(corpus_file, key, digest, old_entry or {"articles": {}})
        self.progress(size)

    def _read_changed(self, corpus_file: CorpusFile, key: str, digest: str, old: dict) -> None:
        self.report.files_read += 1
        old_articles: dict[str, str] = old["articles"]
        articles: dict[str, str] = {}
        clean = True
        for item in read_file(corpus_file):
            if isinstance(item, Problem):
                self.report.problems.append(item)
                clean = clean and not item.skipped
                continue
            owner = self.owner.get(item.id)
            if item.id in articles or (owner is not None and owner != key):
                where = "earlier in this file" if item.id in articles else owner
                self.report.problems.append(
                    Problem(item.origin, f"duplicate id {item.id!r} (first in {where}); skipped")
                )
                continue
            articles[item.id] = content = item.content_hash()
            if old_articles.get(item.id) != content:
                self._write(item, replace=item.id in old_articles)
            self.owner[item.id] = key
        for gone in old_articles.keys() - articles.keys():
            if clean:
                self._delete(gone)
            else:
                articles[gone] = old_articles[gone]  # unreadable now: keep the indexed copy
        self.new_files[key] = {"hash": digest, "articles": articles}

    def _remove_file(self, key: str) -> None:
        for article_id in self.old_files[key]["articles"]:
            if self.owner.get(article_id) == key:
                self._delete(article_id)

    def _open_generation(self) -> None:
        self.generation = store.new_generation(self.index_dir, self.base)
        if self.base is None:
            for directory, schema in (
                (self.generation.articles_dir, article_schema),
                (self.generation.paragraphs_dir, paragraph_schema),
            ):
                directory.mkdir()
                whoosh_index.create_in(str(directory), schema())
        # The article index is written in a second process for big runs; the
        # paragraph index here, beside the corpus reading.
        self.articles_writer = BackgroundWriter(
            self.generation.articles_dir, ARTICLE_WRITER_MB, "article index"
        )
        self.paragraphs_writer = SegmentedWriter.open(
            str(self.generation.paragraphs_dir), PARAGRAPH_WRITER_MB
        )

    def _write(self, article: Article, replace: bool) -> None:
        if self.generation is None:
            self._open_generation()
        if replace:
            self._delete(article.id, report=False)
            self.report.updated += 1
        else:
            self.report.added += 1
        self.articles_writer.add_document(**article_document(article))
        if self.words is not None:
            self.words.update(suggest.article_words(article.to_dict()))
        for paragraph in article.paragraphs:
            self.paragraphs_writer.add_document(article_id=article.id, text=paragraph)
        self.paragraph_count += len(article.paragraphs)

    def _delete(self, article_id: str, report: bool = True) -> None:
        if self.generation is None:
            self._open_generation()
        self.articles_writer.delete_by_term("id", article_id)
        if self.words is not None:
            self.words.subtract(suggest.article_words(self._base_record(article_id)))
        self.paragraph_count -= self.paragraphs_writer.delete_by_term("article_id", article_id)
        if report:
            self.owner.pop(article_id, None)
            self.report.removed += 1

    def _base_record(self, article_id: str) -> dict:
        """The stored record of an article in the base generation ({} if it is not there)."""
        if self._base_searcher is None:
            articles, paragraphs = self.base.open_indexes()
            paragraphs.close()
            self._base_searcher = articles.searcher()
        stored = self._base_searcher.document(id=article_id)
        return json.loads(stored["record"]) if stored else {}

    def _commit(self) -> None:
        if self._base_searcher is not None:
            self._base_searcher.close()
            self._base_searcher = None
        # Both indexes commit at once: paragraphs here, the article index in the child.
        self.articles_writer.commit(then=self.paragraphs_writer.commit)
        self.articles_writer = self.paragraphs_writer = None
        built_at = datetime.now(UTC).isoformat(timespec="seconds")
        manifest = {
            "version": MANIFEST_VERSION,
            "files": self.new_files,
            "paragraphs": self.paragraph_count,
        }
        store.write_json(self.generation.path / "manifest.json", manifest)
        info = {
            "articles": len(self.owner),
            "paragraphs": self.paragraph_count,
            "built_at": built_at,
        }
        _save_terms(self.generation.path, self.base)
        if self.words is None:
            articles, paragraphs = self.generation.open_indexes()
            paragraphs.close()
            with articles.searcher() as searcher:
                self.words = suggest.count_words(searcher.reader())
        suggest.save_word_counts(self.generation.path, self.words)
        store.write_json(self.generation.path / "info.json", info)
        store.swap_in(self.index_dir, self.generation)
        self.report.generation = self.generation.name


def _save_terms(path: Path, base: store.Generation | None) -> None:
    """Save the raw word -> term table beside the index; query-time snippets load it.

    Stemming is the slow part of analysis; a server that starts with the
    corpus's words already stemmed answers its first queries as fast as later
    ones. An incremental run adds its words to the previous generation's table.
    """
    table = {}
    if base is not None:
        table = load_terms(base.path)
    table.update(term_table())
    store.write_json(path / TERMS_FILE, table)


def load_terms(path: Path) -> dict[str, str]:
    """The table saved in a generation directory; empty when missing or unreadable."""
    return store.read_json(path / TERMS_FILE) or {}


def _file_hash(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
