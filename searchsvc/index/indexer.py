"""Build and update the index from corpus files.

Every run brings the index to what a full build of the same files holds.
Files are taken in discovery order (corpus by corpus, then by the path inside
it); an id belongs to its first readable record in that order, and the other
copies are skipped as duplicates. An incremental run does less to get there:
a file whose content hash is in the manifest is not parsed (the manifest
keeps its records' ids and content hashes, and its problems, which are
reported again), unless one of its records must now be written; an article
is written only when its content differs from the indexed copy.

Two things a full build cannot know are kept, and reported as skipped: a
record that cannot be read keeps the indexed copy of its id (when its id is
legible and no readable record has it), and a file that changed while it was
read keeps its indexed articles and is read again by the next run.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from whoosh import index as whoosh_index

from searchsvc.index import duplicates, store

from searchsvc.index import words
from searchsvc.text.analysis import term_table
from searchsvc.model.articles import Article
from searchsvc.index.codec import PackedPositions
from searchsvc.ingest.corpus import CorpusFile, Problem, Unreachable, discover, iter_file
from searchsvc.index.parallel import BackgroundWriter, WriterFailed
from searchsvc.index.schema import (
    article_document,
    article_schema,
    paragraph_schema,
    record_to_article,
)
from searchsvc.index.segments import SegmentedWriter

MANIFEST_VERSION = 2
STORIES_FILE = "stories.json"  # near-duplicate groups: {representative id: [ids]}
TERMS_FILE = "terms.json"
# Each writer closes a segment when its memory is nearly full (segments.py).
# The article index (searched) gets the larger share: Reuters' is 2 segments,
# which search as fast as one, where 5 cost a third more per query; the
# paragraph index (only read for statistics) may have several.
ARTICLE_WRITER_MB = 192
PARAGRAPH_WRITER_MB = 128
CHANGED_WHILE_READ = "changed while it was read"


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
    kept: list[str] = field(default_factory=list)  # ids served as indexed: unreadable now
    seconds: float = 0.0
    generation: str | None = None  # None when nothing changed

    @property
    def skipped(self) -> list[Problem]:
        return [p for p in self.problems if p.skipped]

    def summary(self) -> str:
        changes = f"{self.added} added, {self.updated} updated, {self.removed} removed"
        if self.generation is None:
            changes = "no changes"
        kept = f", {len(self.kept)} kept as indexed" if self.kept else ""
        return (
            f"{self.articles} articles, {self.paragraphs} paragraphs ({changes}{kept}); "
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
    """Bring the index in line with the corpus.

    Raises FileNotFoundError for a corpus path that is not there,
    store.ReindexBusy if another run holds the lock, and store.ReindexFailed
    if writing the index fails (a full disk) or a corpus path cannot be looked
    at: then the index served before still serves, and nothing of the run is left.
    """
    started = time.monotonic()
    roots = list(roots)
    served = store.pointer_name(index_dir)
    _check_roots(roots, index_dir, served)
    try:
        with store.writer_lock(index_dir, lock_timeout):
            served = store.pointer_name(index_dir)
            report = _reindex_locked(roots, index_dir, full, progress)
    except (OSError, WriterFailed) as error:
        failure = store.ReindexFailed.because(index_dir, error, served)
        _free_frames(error)
        raise failure from error
    report.seconds = time.monotonic() - started
    return report


def _check_roots(roots: list[Path], index_dir: Path, served: str | None) -> None:
    """Raise FileNotFoundError for corpus paths that are not there, ReindexFailed for one
    that cannot be looked at (in a folder this user cannot search): nothing is changed."""
    missing = []
    for root in roots:
        try:
            root.stat()
        except FileNotFoundError:
            missing.append(str(root))
        except OSError as error:
            raise store.ReindexFailed.because(index_dir, error, served) from None
    if missing:
        raise FileNotFoundError(f"corpus not found: {', '.join(missing)}")


def _reindex_locked(roots, index_dir: Path, full: bool, progress) -> ReindexReport:
    store.clean_up(index_dir)
    previous, manifest, warning = _served(index_dir)
    frozen: dict[str, tuple[str, dict | None]] = {}
    while True:
        run = _Run(index_dir, None if full else previous, previous, manifest, progress, frozen)
        if warning and not full:
            run.report.problems.append(Problem(str(index_dir), warning, skipped=False))
        try:
            return run.execute(roots)
        except _ReadAgain as again:  # at most once per file: it is frozen the next time
            frozen[again.key] = (again.reason, again.entry)


def _free_frames(error: BaseException) -> None:
    """Let go of a failed run's frames, and so of the files Whoosh left open in them."""
    with _leaks_expected():
        while error is not None:
            error.__traceback__ = None
            error = error.__context__
        gc.collect()


@contextlib.contextmanager
def _leaks_expected():
    """Whoosh leaves the files of a writer that failed open (its lock held) until they
    are collected; after a failure that is no news worth a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        yield


def _served(index_dir: Path) -> tuple[store.Generation | None, dict, str]:
    """The served generation and its manifest, if this version can build on them;
    else None, and why not when there is an index."""
    try:
        served = store.current_generation(index_dir)
        articles, paragraphs = served.open_indexes()
        packed = type(articles.schema["body"].format) is PackedPositions
        articles.close()
        paragraphs.close()
        manifest = served.manifest()
    except store.IndexIncompatible:
        return None, {}, "the index was written by another version of searchsvc; rebuilt in full"
    except store.IndexMissing:
        return None, {}, ""
    except (OSError, ValueError):
        return None, {}, "the index's manifest cannot be read; rebuilt in full"
    if not packed:
        # Readable, but its postings are whoosh3's pickled blocks (slow to read);
        # new segments would mix the two layouts.
        return None, {}, "the index was written by an older version of searchsvc; rebuilt in full"
    unreadable = "the index's manifest cannot be read; rebuilt in full"
    if not isinstance(manifest, dict):  # damaged, yet valid JSON
        return None, {}, unreadable
    if manifest.get("version") not in (1, MANIFEST_VERSION):
        return None, {}, "the index was written by another version of searchsvc; rebuilt in full"
    if not _well_formed(manifest):
        return None, {}, unreadable
    return served, manifest, ""


def _well_formed(manifest: dict) -> bool:
    """True for a manifest this version can build on (a damaged one is valid JSON too)."""
    try:
        files, articles = _manifest_parts(manifest)
        return (
            isinstance(manifest.get("paragraphs", 0), int)
            and all(isinstance(content, str) for content in articles.values())
        ) and all(
            isinstance(entry["hash"], str)
            and isinstance(entry["reader"], str)
            and all(len(record) == 3 for record in entry["records"])
            and all(len(problem) == 4 for problem in entry["problems"])
            for entry in files.values()
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        return False


def _manifest_parts(manifest: dict) -> tuple[dict, dict]:
    """(files, articles) of a manifest. Version 1 kept no records: its files are all read
    again, once, and only what changed is rewritten."""
    if manifest.get("version") == MANIFEST_VERSION:
        return manifest["files"], manifest["articles"]
    articles = {}
    for entry in manifest.get("files", {}).values():
        articles.update(entry["articles"])
    return {}, articles


class _Unreadable(Exception):
    """Reading a corpus file failed (an OSError of the reader, not of a writer)."""


def _items(corpus_file: CorpusFile, hasher):
    try:
        yield from iter_file(corpus_file, hasher)
    except OSError as error:
        raise _Unreadable(_cannot_read(error)) from error


class _ReadAgain(Exception):
    """A file changed while articles read from it were being written: run again without it."""

    def __init__(self, key: str, reason: str, entry: dict | None):
        super().__init__(reason)
        self.key, self.reason, self.entry = key, reason, entry


class _Run:
    """One reindex: the corpus in discovery order, and the writes that bring the index to it.

    The manifest keeps, per file (by resolved path): its content hash, the
    reader that read it, its records as [id, content hash, origin suffix] and
    its problems as [origin suffix, reason, skipped, id]; and per article id,
    the content hash of the indexed copy.
    """

    def __init__(self, index_dir, base, previous, manifest: dict, progress, frozen: dict):
        self.index_dir = index_dir
        self.base = base  # None: a full build
        self.previous = previous  # the served generation, which frozen files keep copies of
        self.progress = progress or (lambda _n: None)
        self.frozen = frozen  # resolved path -> (why, its last entry): not to be read again
        files, articles = _manifest_parts(manifest)
        self.previous_files = files  # the served generation's, by resolved path
        self.previous_articles = articles  # id -> content hash, in the served generation
        self.old_files = files if base else {}  # those this run builds on
        self.indexed = articles if base else {}  # id -> content hash of the copy in the base
        self.known = {(e["reader"], e["hash"]): e for e in self.old_files.values()}
        self.new_files: dict[str, dict] = {}
        self.visited: dict[str, CorpusFile] = {}  # resolved path -> the file read there
        self.unknown_changed = False  # a file unknown by its path changed while read
        self.final: dict[str, str] = {}  # id -> content hash, for the index being made
        self.owners: dict[str, str] = {}  # id -> the file that has it, as shown
        self.legible: set[str] = set()  # ids of records that cannot be read
        self.frozen_legible: set[str] = set()  # those of files that cannot be read now
        self.report = ReindexReport()
        self.generation: store.Generation | None = None
        self.articles_writer: BackgroundWriter | None = None
        self.paragraphs_writer: SegmentedWriter | None = None
        self.paragraph_count = manifest.get("paragraphs", 0) if base else 0
        # Surface-word counts for did-you-mean, kept up to date as articles come and
        # go; None when the base has none saved (they are then counted at the end).
        self.words: Counter | None = Counter()
        if base is not None:
            self.words = words.load_word_counts(base.path)
        self._previous_searcher = None
        # Near-duplicate signatures of the articles this run writes; the others' are
        # carried over from the base generation's file (a full build carries none).
        self.signer = duplicates.Builder()
        self.carried = _carried_signatures(base)

    def execute(self, roots: list[Path]) -> ReindexReport:
        try:
            for item in discover(roots, self._remembered):
                if isinstance(item, Unreachable):
                    self._visit_unreachable(item)
                elif isinstance(item, Problem):
                    self.report.problems.append(item)
                else:
                    self._visit(item)
            self._remove_unclaimed()
            changed = (self.new_files, self.final) != (self.old_files, self.indexed)
            if self.generation is None and (self.base is None or changed):
                self._open_generation()  # an empty corpus, or new paths only: still recorded
            if self.generation is not None:
                self._commit()
        except BaseException:
            self._abandon()
            raise
        self.report.articles = len(self.final)
        self.report.paragraphs = self.paragraph_count
        return self.report

    # Reading the corpus.

    def _remembered(self, folder: Path) -> list[Path]:
        """The files the served index read under a folder (which cannot be listed now)."""
        prefix = os.path.join(str(folder), "")
        return [Path(key) for key in self.previous_files if key.startswith(prefix)]

    def _first_visit(self, corpus_file: CorpusFile) -> str | None:
        """The file's key (its resolved path), or None if this run has already read it."""
        key = os.path.realpath(corpus_file.path)
        first = self.visited.setdefault(key, corpus_file)
        if first is corpus_file:
            return key
        # Overlapping --corpus paths, or links into a hidden folder: one file, read once.
        if first.path == corpus_file.path:
            reason = f"reached again through another --corpus path (as {corpus_file.key}); "
        else:
            reason = f"same file as {first.path}; "
        problem = Problem(str(corpus_file.path), reason + "read once, as " + first.key)
        self.report.problems.append(problem)
        return None

    def _visit_unreachable(self, item: Unreachable) -> None:
        """A file that cannot be looked at now keeps what was indexed from it."""
        key = self._first_visit(item.file)
        if key is not None:
            self._freeze(item.file, key, item.reason, self.previous_files.get(key))

    def _visit(self, corpus_file: CorpusFile) -> None:
        key = self._first_visit(corpus_file)
        if key is None:
            return
        reader = "jsonl" if corpus_file.path.suffix.lower() == ".jsonl" else "txt"
        if reader == "txt":
            reader += ":" + corpus_file.id_stem  # its one article's id is its path
        try:
            size = corpus_file.path.stat().st_size
            digest = _file_hash(corpus_file.path)
        except OSError as error:
            self._freeze(corpus_file, key, _cannot_read(error), self.previous_files.get(key))
            return
        if key in self.frozen:
            self._freeze(corpus_file, key, *self.frozen[key])
        elif (entry := self.known.get((reader, digest))) is not None:
            self.report.files_unchanged += 1
            self._take_known(corpus_file, key, entry)
        else:
            self.report.files_read += 1
            self._read(corpus_file, key, reader, digest)
        self.progress(size)

    def _take_known(self, corpus_file: CorpusFile, key: str, entry: dict) -> None:
        """A file as the manifest knows it; parsed only for records the index lacks."""
        problems = [_problem(corpus_file, stored) for stored in entry["problems"]]
        wanted = set()
        for article_id, content, at in entry["records"]:
            if self._claim(corpus_file, article_id, at, problems):
                if self.indexed.get(article_id) == content:
                    self.final[article_id] = content
                else:
                    wanted.add(article_id)
        if wanted:
            hasher = _hasher()
            try:
                for item in _items(corpus_file, hasher):
                    if isinstance(item, Article) and item.id in wanted:
                        wanted.discard(item.id)  # only its first copy is the owner
                        self._write(item, item.content_hash())
                consistent = hasher.hexdigest() == entry["hash"]
                reason = CHANGED_WHILE_READ
            except _Unreadable as error:
                consistent, reason = False, str(error)
            if not consistent:
                # What was indexed from this path, as a full build would keep it.
                raise _ReadAgain(key, reason, self.previous_files.get(key))
        self._add_file(key, entry, problems)

    def _read(self, corpus_file: CorpusFile, key: str, reader: str, digest: str) -> None:
        """A new or changed file: its records claimed and written as they are read."""
        records, problems, duplicates, claimed = [], [], [], []
        wrote = False
        hasher = _hasher()
        try:
            for item in _items(corpus_file, hasher):
                if isinstance(item, Problem):
                    problems.append(item)
                    continue
                content, at = item.content_hash(), _suffix(corpus_file, item.origin)
                records.append([item.id, content, at])
                if self._claim(corpus_file, item.id, at, duplicates):
                    claimed.append(item.id)
                    if self.indexed.get(item.id) != content:
                        self._write(item, content)
                        wrote = True
                    self.final[item.id] = content
            read = hasher.hexdigest()
            # Read as it was when hashed, or as it is now: either way, one version of it.
            consistent = read == digest or read == _hash_or_none(corpus_file.path)
            reason = CHANGED_WHILE_READ
        except _Unreadable as error:
            consistent, reason = False, str(error)
        if not consistent:
            if wrote:
                raise _ReadAgain(key, reason, self.previous_files.get(key))
            for article_id in claimed:
                del self.owners[article_id]
                self.final.pop(article_id, None)
            self._freeze(corpus_file, key, reason, self.previous_files.get(key))
            return
        stored = [_stored(corpus_file, p) for p in problems]  # duplicates: found anew each run
        entry = {"hash": read, "reader": reader, "records": records, "problems": stored}
        self._add_file(key, entry, problems + duplicates)

    def _freeze(self, corpus_file: CorpusFile, key: str, reason: str, entry: dict | None) -> None:
        """A file that cannot be read consistently: its indexed articles stay as they are."""
        message = f"{reason}; what was indexed from it is kept; reindex again to read it"
        self.report.problems.append(Problem(str(corpus_file.path), message))
        if entry is None:  # nothing recorded by this path: the next run reads it as new
            # It may be a renamed or moved file: see _maybe_moved.
            self.unknown_changed |= reason == CHANGED_WHILE_READ
            return
        self.new_files[key] = entry  # its last hash: the next run reads it if it differs
        for article_id, _content, at in entry["records"]:
            if not self._claim(corpus_file, article_id, at, []):
                continue
            if article_id in self.indexed:  # already in the new generation (hard links)
                self.final[article_id] = self.indexed[article_id]
                self.report.kept.append(article_id)
            elif self.base is None and (record := self._previous_record(article_id)):
                # A full build starts empty: the copy comes from the index served so far.
                article = Article.from_dict(record)
                self._write(article, article.content_hash())
                self.report.kept.append(article_id)
        # Its unreadable records' kept copies are "what was indexed from it" too.
        legible = {stored[3] for stored in entry["problems"] if stored[2] and stored[3]}
        self.legible |= legible
        self.frozen_legible |= legible

    def _claim(self, corpus_file: CorpusFile, article_id: str, at: str, problems: list) -> bool:
        """True if this record owns its id: no record before it in discovery order has it."""
        shown = str(corpus_file.path)
        owner = self.owners.get(article_id)
        if owner is None:
            self.owners[article_id] = shown
            return True
        where = "earlier in this file" if owner == shown else owner
        reason = f"duplicate id {article_id!r} (first in {where}); skipped"
        problems.append(Problem(shown + at, reason))
        return False

    def _add_file(self, key: str, entry: dict, problems: list[Problem]) -> None:
        self.new_files[key] = entry
        self.report.problems.extend(problems)
        self.legible.update(p.article_id for p in problems if p.skipped and p.article_id)

    def _remove_unclaimed(self) -> None:
        """Indexed articles no record owns now go, but for those whose record is unreadable,
        and those that may be in a file that changed while it was read. A full build keeps
        only the latter, and those of files it cannot read, copied from the served index."""
        moved = self._maybe_moved()
        for article_id in sorted(self.indexed.keys() - self.owners.keys()):
            if article_id in self.legible or article_id in moved:
                self.final[article_id] = self.indexed[article_id]
                self.report.kept.append(article_id)
            else:
                self._delete(article_id)
        if self.base is None:  # a full build keeps them too, copied from the served index
            for article_id in sorted((moved | self.frozen_legible) - self.owners.keys()):
                if record := self._previous_record(article_id):
                    article = Article.from_dict(record)
                    self._write(article, article.content_hash())
                    self.report.kept.append(article_id)

    def _maybe_moved(self) -> set[str]:
        """Served articles that a file unknown by its path, which changed while it was
        read, may hold: those whose every file of the last run is gone from this one (a
        rename, a moved folder). Articles removed from files still there are not kept."""
        if not self.unknown_changed:
            return set()
        holders = defaultdict(set)
        for key, entry in self.previous_files.items():
            for article_id, _content, _at in entry["records"]:
                holders[article_id].add(key)
        return {i for i in self.previous_articles if not holders[i] & self.visited.keys()}

    # Writing the new generation.

    def _open_generation(self) -> None:
        self.generation = store.new_generation(self.index_dir, self.base)
        if self.base is None:
            for directory, schema in (
                (self.generation.articles_dir, article_schema),
                (self.generation.paragraphs_dir, paragraph_schema),
            ):
                directory.mkdir()
                whoosh_index.create_in(str(directory), schema())

    def _writers(self) -> tuple[BackgroundWriter, SegmentedWriter]:
        if self.generation is None:
            self._open_generation()
        if self.articles_writer is None:
            # The article index is written in a second process for big runs; the
            # paragraph index here, beside the corpus reading.
            paragraphs = SegmentedWriter.open(
                str(self.generation.paragraphs_dir), PARAGRAPH_WRITER_MB
            )
            self.paragraphs_writer = paragraphs
            self.articles_writer = BackgroundWriter(
                self.generation.articles_dir, ARTICLE_WRITER_MB, "article index"
            )
        return self.articles_writer, self.paragraphs_writer

    def _write(self, article: Article, content: str) -> None:
        articles, paragraphs = self._writers()
        if article.id in self.indexed:
            self._delete(article.id, report=False)
            self.report.updated += 1
        else:
            self.report.added += 1
        self.final[article.id] = content
        articles.add_document(**article_document(article))
        self.signer.add(article)
        if self.words is not None:
            self.words.update(words.article_words(article.to_dict()))
        for paragraph in article.paragraphs:
            paragraphs.add_document(article_id=article.id, text=paragraph)
        self.paragraph_count += len(article.paragraphs)

    def _delete(self, article_id: str, report: bool = True) -> None:
        articles, paragraphs = self._writers()
        articles.delete_by_term("id", article_id)
        if self.words is not None:
            self.words.subtract(words.article_words(self._previous_record(article_id)))
        self.paragraph_count -= paragraphs.delete_by_term("article_id", article_id)
        if report:
            self.report.removed += 1

    def _previous_record(self, article_id: str) -> dict:
        """The stored record of an article in the served generation ({} if not there)."""
        if self.previous is None:
            return {}
        if self._previous_searcher is None:
            articles, paragraphs = self.previous.open_indexes()
            paragraphs.close()
            self._previous_searcher = articles.searcher()
        stored = self._previous_searcher.document(id=article_id)
        return json.loads(stored["record"]) if stored else {}

    def _commit(self) -> None:
        self._close_previous()
        if self.articles_writer is not None:
            # Both indexes commit at once: paragraphs here, the article index in the child.
            self.articles_writer.commit(then=self.paragraphs_writer.commit)
            self.articles_writer = self.paragraphs_writer = None
        manifest = {
            "version": MANIFEST_VERSION,
            "files": self.new_files,
            "articles": self.final,
            "paragraphs": self.paragraph_count,
        }
        # ASCII: a corpus path that is not UTF-8 is kept as \udcxx escapes, not refused.
        store.write_json(self.generation.path / "manifest.json", manifest, ascii_only=True)
        info = {
            "articles": len(self.final),
            "paragraphs": self.paragraph_count,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        _save_terms(self.generation.path, self.base)
        if self.words is None:
            articles, paragraphs = self.generation.open_indexes()
            paragraphs.close()
            with articles.searcher() as searcher:
                self.words = words.count_words(searcher.reader())
        words.save_word_counts(self.generation.path, self.words)
        self._save_stories()
        store.write_json(self.generation.path / "info.json", info)
        store.swap_in(self.index_dir, self.generation)
        self.report.generation = self.generation.name

    def _save_stories(self) -> None:
        """Signatures of every article, and the groups of near-duplicates they make: from
        the whole set each time, so an incremental run finds the groups a full one does."""
        signatures = self.carried.merged(self.signer.signatures()).restricted(self.final)
        missing = set(self.final).difference(signatures.ids)
        if missing:  # a base written before signatures were kept: sign its stored records
            signatures = signatures.merged(self._sign_stored(missing))
        # A generation starts as hard links to the base's files: replaced, never rewritten.
        duplicates.save(self.generation.path / duplicates.FILE_NAME, signatures)
        stories = duplicates.by_group(duplicates.groups(signatures))
        store.write_json(self.generation.path / STORIES_FILE, stories)

    def _sign_stored(self, ids: set[str]) -> duplicates.Signatures:
        builder = duplicates.Builder()
        articles, paragraphs = self.generation.open_indexes()
        paragraphs.close()
        with articles.searcher() as searcher:
            for article_id in sorted(ids):
                builder.add(record_to_article(searcher.document(id=article_id)["record"]))
        return builder.signatures()

    def _close_previous(self) -> None:
        if self._previous_searcher is not None:
            self._previous_searcher.close()
            self._previous_searcher = None

    def _abandon(self) -> None:
        """After an error: stop the writers and delete the generation, unless it is served."""
        self._close_previous()
        for writer in (self.articles_writer, self.paragraphs_writer):
            if writer is not None:
                # The error being handled matters more than one in cancelling.
                with _leaks_expected(), contextlib.suppress(Exception):
                    writer.cancel()
        self.articles_writer = self.paragraphs_writer = None
        if self.generation is not None:
            if store.pointer_name(self.index_dir) != self.generation.name:
                store.discard(self.generation)


def _problem(corpus_file: CorpusFile, stored: list) -> Problem:
    suffix, reason, skipped, article_id = stored
    return Problem(str(corpus_file.path) + suffix, reason, skipped, article_id)


def _stored(corpus_file: CorpusFile, problem: Problem) -> list:
    return [
        _suffix(corpus_file, problem.origin),
        problem.reason,
        problem.skipped,
        problem.article_id,
    ]


def _suffix(corpus_file: CorpusFile, origin: str) -> str:
    """An origin without its file's path (":12", or ""): the file may move."""
    return origin.removeprefix(str(corpus_file.path))


def _cannot_read(error: OSError) -> str:
    return f"cannot be read: {error.strerror or error}"


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


def _hasher():
    return hashlib.blake2b(digest_size=16)


def _file_hash(path: Path) -> str:
    digest = _hasher()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _hash_or_none(path: Path) -> str | None:
    try:
        return _file_hash(path)
    except OSError:
        return None


def _carried_signatures(base) -> duplicates.Signatures:
    if base is None:
        return duplicates.empty()
    try:
        return duplicates.load(base.path / duplicates.FILE_NAME)
    except (OSError, ValueError):  # none yet, or unusable: those articles are signed again
        return duplicates.empty()
