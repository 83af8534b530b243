"""`searchsvc reindex` for the OpenSearch engine: the embedded indexer's run, written to a cluster.

Which files are read, which copy of an id wins, what an incremental run keeps
and reports: all of that is index/indexer.py's _Run, unchanged. Only where
it writes differs. An article the run writes is analysed into a spool; at the
end, the served generation's other articles are streamed from the cluster
(already analysed: nothing is stemmed twice) ahead of them, and the whole is
loaded as a new generation (loading.py) and swapped in under the cluster lock.
Every generation is complete, so its statistics, and the ranking quantities
baked with them, are exactly a full build's.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from opensearchpy import exceptions as errors
from opensearchpy import helpers

from searchsvc.engine.opensearch import generations, loading
from searchsvc.engine.opensearch.documents import analyse, doc_id
from searchsvc.engine.opensearch.lock import ClusterLock
from searchsvc.engine.opensearch.mapping import FORMAT
from searchsvc.index import duplicates, indexer
from searchsvc.index.store import ReindexFailed
from searchsvc.ingest.corpus import Problem
from searchsvc.model.articles import Article
from searchsvc.model.errors import EngineUnavailable

SCAN_PAGE = 1_000  # documents per page when the served generation is streamed


class _Served:
    """The served generation, as indexer._Run's `base` (it reads no files of it)."""

    def __init__(self, name: str):
        self.name = name
        # _Run loads a base's saved word counts from base.path; this one has none there
        # (the counts are made again from every article when the generation is loaded).
        self.path = Path(os.devnull) / name


def reindex(engine, roots: list[Path], *, full: bool, lock_timeout: float, progress=None):
    """Bring the alias in line with the corpus (see Engine.reindex for what it raises)."""
    started = time.monotonic()
    _check_roots(roots)
    engine.cluster.check()
    with ClusterLock(engine.cluster, engine.layout).held(lock_timeout) as lock:
        live = generations.live(engine.cluster, engine.layout)
        try:
            generations.clean_up(engine.cluster, engine.layout, keep=live, previous=None)
            report = _run(engine, lock, live, roots, full, progress)
        except (loading.LoadFailed, EngineUnavailable, errors.OpenSearchException) as error:
            raise ReindexFailed(
                f"reindex failed: {error}; "
                + (
                    f"{engine.layout.alias!r} still serves {live}"
                    if live
                    else "there is no index yet"
                )
            ) from error
    report.seconds = time.monotonic() - started
    return report


def _check_roots(roots: list[Path]) -> None:
    missing = []
    for root in roots:
        try:
            root.stat()
        except FileNotFoundError:
            missing.append(str(root))
        except OSError as error:
            raise ReindexFailed(
                f"reindex failed: {error.strerror}: {root}; nothing changed"
            ) from None
    if missing:
        raise FileNotFoundError(f"corpus not found: {', '.join(missing)}")


def _run(engine, lock, live: str | None, roots, full: bool, progress):
    served, manifest, warning = _served(engine, live)
    frozen: dict = {}
    while True:
        base = None if full or served is None else served
        run = _ClusterRun(engine, lock, base, live, manifest, progress, frozen)
        if warning and not full:
            run.report.problems.append(Problem(engine.layout.alias, warning, skipped=False))
        try:
            return run.execute(roots)
        except indexer._ReadAgain as again:  # at most once per file: frozen the next time
            frozen[again.key] = (again.reason, again.entry)


def _served(engine, live: str | None) -> tuple[_Served | None, dict, str]:
    """The served generation and its manifest, if this version can build on them."""
    if live is None:
        return None, {}, ""
    cluster, layout = engine.cluster, engine.layout
    mapping = cluster.call("indices.get_mapping", index=live)
    meta = next(iter(mapping.values()), {}).get("mappings", {}).get("_meta", {})
    if meta.get("searchsvc_format") != FORMAT:
        return None, {}, "the index was written by another version of searchsvc; rebuilt in full"
    unreadable = "the index's manifest cannot be read; rebuilt in full"
    try:
        found = cluster.call("get", index=layout.terms(live), id="m:info")
        parts = json.loads(found["_source"]["data"])["manifest_parts"]
        ids = [f"m:manifest:{part}" for part in range(parts)]
        docs = (
            cluster.call("mget", index=layout.terms(live), body={"ids": ids})["docs"] if ids else []
        )
        manifest = json.loads("".join(doc["_source"]["data"] for doc in docs)) if docs else {}
    except (KeyError, ValueError, TypeError):
        return None, {}, unreadable
    if not isinstance(manifest, dict) or manifest.get("version") != indexer.MANIFEST_VERSION:
        return None, {}, unreadable
    if not indexer._well_formed(manifest):
        return None, {}, unreadable
    return _Served(live), manifest, ""


class _StorySpool(loading.Spool):
    """A spool that signs what it holds and, once find_stories() has grouped them, gives
    each version of a story its `story` and `story_place` as it is read back."""

    def __init__(self):
        super().__init__()
        self.signer = duplicates.Builder()
        self.stories: dict[str, dict] = {}

    def add(self, doc: dict) -> None:
        super().add(doc)
        self.signer.add(Article.from_dict(json.loads(doc["record"])))

    def find_stories(self) -> None:
        groups = duplicates.by_group(duplicates.groups(self.signer.signatures()))
        for number, (_representative, ids) in enumerate(sorted(groups.items())):
            for place, article_id in enumerate(sorted(ids)):
                searchable = article_id.encode("utf-8", "replace").decode("utf-8")
                self.stories[searchable] = {"story": number, "story_place": place}

    def __iter__(self):
        for doc in super().__iter__():
            yield {**doc, **self.stories.get(doc["id"], {})}


class _ClusterRun(indexer._Run):
    """indexer._Run with its writes sent to a spool and loaded as a new generation."""

    def __init__(self, engine, lock, base, live, manifest, progress, frozen):
        super().__init__(None, base, live, manifest, progress, frozen)
        self.engine, self.lock, self.live = engine, lock, live
        self.written: loading.Spool | None = None
        self.written_ids: set[str] = set()
        self.removed_ids: set[str] = set()
        self.loaded: str | None = None  # the new generation, once loaded
        self.swapped = False

    # Where _Run writes.

    def _open_generation(self) -> None:
        self.generation = self.written = loading.Spool()

    def _write(self, article: Article, content: str) -> None:
        if self.written is None:
            self._open_generation()
        if article.id in self.indexed:
            self.report.updated += 1
        else:
            self.report.added += 1
        self.final[article.id] = content
        self.written_ids.add(article.id)
        self.removed_ids.discard(article.id)
        self.written.add(analyse(article, content))

    def _delete(self, article_id: str, report: bool = True) -> None:
        if self.written is None:
            self._open_generation()
        self.removed_ids.add(article_id)
        if report:
            self.report.removed += 1

    def _previous_record(self, article_id: str) -> dict:
        """The record of an article in the served generation ({} if not there)."""
        if self.live is None:
            return {}
        found = self.engine.cluster.call(
            "get", index=self.live, id=doc_id(article_id), _source_includes=["record"],
            params={"ignore": 404},
        )  # fmt: skip
        if not found.get("found"):
            return {}
        record = json.loads(found["_source"]["record"])
        return record if record.get("id") == article_id else {}

    def _close_previous(self) -> None:
        pass

    def _commit(self) -> None:
        spool = _StorySpool()
        # Numbered in the order a full build writes them (the final ids' order), so an
        # incremental run's generation is the full build's, sampled statistics included.
        order = {article_id: number for number, article_id in enumerate(self.final)}
        try:
            if self.base is not None:
                for doc in self._unchanged():
                    spool.add({**doc, "seq": order[json.loads(doc["record"])["id"]]})
            for doc in self.written:
                spool.add({**doc, "seq": order[json.loads(doc["record"])["id"]]})
            spool.find_stories()
            if spool.totals.articles != len(self.final):
                raise loading.LoadFailed(
                    f"{spool.totals.articles} articles gathered where {len(self.final)} are due"
                )
            self.paragraph_count = spool.totals.paragraphs
            manifest = {
                "version": indexer.MANIFEST_VERSION,
                "files": self.new_files,
                "articles": self.final,
                "paragraphs": self.paragraph_count,
            }
            self.loaded = loading.load(
                self.engine.cluster, self.engine.layout, spool, self.engine.ranking,
                self.engine.title_boost, shards=self.engine.shards, replicas=self.engine.replicas,
                window=self.engine.window, manifest=manifest,
            )  # fmt: skip
        finally:
            spool.close()
            self.written.close()
        self.lock.check()
        generations.swap(self.engine.cluster, self.engine.layout, self.loaded, self.live)
        self.swapped = True
        self.report.generation = self.loaded
        generations.clean_up(self.engine.cluster, self.engine.layout, self.loaded, self.live)

    def _unchanged(self):
        """The served generation's articles this run keeps as they are, in their order."""
        fields = ["id", "hash", "record", "title", "body", "paras", "date", "topic"]
        hits = helpers.scan(
            self.engine.cluster.client, index=self.live, query={"sort": ["seq"]},
            preserve_order=True, size=SCAN_PAGE, _source=fields, request_timeout=120,
        )  # fmt: skip
        for hit in hits:
            source = hit["_source"]
            record = json.loads(source["record"])
            article_id = record["id"]
            if article_id in self.written_ids or article_id in self.removed_ids:
                continue
            if article_id not in self.final:
                continue
            yield {
                "key": hit["_id"],
                "id": source["id"],
                "hash": source["hash"],
                "record": source["record"],
                "title": source["title"],
                "body": source["body"],
                "paras": source.get("paras") or [],
                "date": source.get("date"),
                "source": record.get("source") or None,
                "topic": source.get("topic") or [],
            }

    def _abandon(self) -> None:
        if self.written is not None:
            self.written.close()
        if self.loaded is not None and not self.swapped:
            try:
                generations.discard(self.engine.cluster, self.engine.layout, self.loaded)
            except Exception:
                pass  # the cluster is away: the next run deletes it
