"""Loading one generation: analysed articles spooled, statistics counted, baked, bulk-loaded.

The articles are analysed once into a spool file (documents.analyse), which
also counts the collection's statistics; only then are the averages known
that the baked BM25F frequencies need, so the second pass bakes and sends.
The generation is written without replicas and without refreshes (faster),
then refreshed, given its replicas, and checked (green, every article there)
before anyone may swap it in.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

import numpy as np
from opensearchpy import exceptions as errors
from opensearchpy import helpers

from searchsvc.engine.embedded.ranking import LEAD_READS, LEAD_SAMPLE, _measure_lead_share
from searchsvc.engine.opensearch import generations
from searchsvc.engine.opensearch.client import Cluster, EngineUnavailable
from searchsvc.engine.opensearch.documents import Baking, Totals
from searchsvc.engine.opensearch.mapping import FORMAT, article_index, terms_index
from searchsvc.engine.opensearch.stats import term_id

BULK_DOCS = 500  # documents per bulk request
BULK_BYTES = 16 * 1024 * 1024
BULK_TIMEOUT = 120  # seconds for one bulk request
# How long a bulk request waits for a shard's primary (a node restarting): past it, the
# load fails and the alias keeps what it served.
SHARD_WAIT = "30s"
GREEN_TIMEOUT = 120  # seconds for the replicas to be placed
PART_CHARS = 4 * 1024 * 1024  # manifest text per document
WORDS_PER_PART = 50_000


class LoadFailed(Exception):
    """The generation could not be loaded whole; the message says why (a node lost, a
    document refused). Nothing was swapped: the alias still names what it named."""


class Spool:
    """Analysed documents on disk, in indexing order, and their statistics."""

    def __init__(self):
        self.file = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.totals = Totals()

    def add(self, doc: dict) -> None:
        self.totals.add(doc)
        self.file.write(json.dumps(doc, ensure_ascii=False) + "\n")

    def __iter__(self) -> Iterator[dict]:
        self.file.flush()
        self.file.seek(0)
        for line in self.file:
            yield json.loads(line)

    def close(self) -> None:
        self.file.close()


class _SampleReader:
    """Sampled articles as ranking._measure_lead_share reads an index."""

    def __init__(self, total: int, records: dict[int, str]):
        self.total, self.records = total, records

    def doc_count_all(self) -> int:
        return self.total

    def is_deleted(self, docnum: int) -> bool:
        return False

    def stored_fields(self, docnum: int) -> dict:
        return {"record": self.records.get(docnum, "{}")}


def load(
    cluster: Cluster,
    layout: generations.Layout,
    spool: Spool,
    ranking,
    title_weight: float,
    *,
    shards: int,
    replicas: int,
    window: int = 10_000,
    manifest: dict | None = None,
    progress: Callable[[int], None] | None = None,
) -> str:
    """Create the next generation from `spool` and return its name (not yet swapped in)."""
    totals = spool.totals
    baking = Baking.choose(totals, ranking, title_weight)
    name = generations.next_generation(cluster, layout)
    meta = {"searchsvc_format": FORMAT, "generation": name}
    body = article_index(shards, 0, ranking.k1, meta, baking.resolution)
    body["settings"]["max_result_window"] = max(window, 10_000)  # deep pages, as configured
    try:
        _create(cluster, name, body)
        _create(cluster, layout.terms(name), terms_index(1, 0, meta))
        _fill(cluster, layout, name, spool, baking, ranking, replicas, manifest, progress)
    except BaseException:
        try:
            generations.discard(cluster, layout, name)
        except Exception:
            pass  # the cluster is away: the next run, holding the lock, deletes it
        raise
    return name


def _fill(cluster, layout, name, spool, baking, ranking, replicas, manifest, progress) -> None:
    """Send the generation's documents, give it its replicas, check it is whole."""
    totals = spool.totals
    for index in (name, layout.terms(name)):
        cluster.call("indices.put_settings", index=index, body={"refresh_interval": "-1"})
    sample = _sample_positions(totals.articles)
    records: dict[int, str] = {}

    def articles() -> Iterator[dict]:
        for number, doc in enumerate(spool):
            seq = doc.get("seq", number)
            if seq in sample:
                records[seq] = doc["record"]
            baked = baking.bake(doc)
            baked["seq"] = seq
            yield {"_index": name, "_id": doc["key"], "_source": baked}
            if progress:
                progress(1)

    timings, started = {}, time.perf_counter()
    _bulk(cluster, articles())
    timings["articles"] = _lap(started)
    lead_share = _measure_lead_share(_SampleReader(totals.articles, records), ranking.lead_words)
    info = _info(name, totals, baking, lead_share, ranking.lead_words)
    started = time.perf_counter()
    info, documents = _term_documents(layout.terms(name), totals, info, manifest)
    _bulk(cluster, documents)
    timings["terms"] = _lap(started)
    started = time.perf_counter()
    _finish(cluster, [name, layout.terms(name)], replicas)
    timings["replicas"] = _lap(started)
    # What loading took, kept with the generation (the info is written before it is known).
    info["timings"] = timings
    cluster.call("index", index=layout.terms(name), id="m:info", refresh=True,
                 body={"kind": "info", "data": json.dumps(info, ensure_ascii=True)})  # fmt: skip
    counted = cluster.call("count", index=name)["count"]
    if counted != totals.articles:
        raise LoadFailed(f"{name} holds {counted} articles where {totals.articles} were sent")


def _create(cluster: Cluster, index: str, body: dict) -> None:
    """Create one of the new generation's indexes. The name was chosen under the lock, after
    clean-up: if it exists, it is this very call's, retried by the client on another node
    after the first node created it and went away before answering."""
    try:
        cluster.call("indices.create", index=index, body=body)
    except errors.RequestError as error:
        if error.error != "resource_already_exists_exception":
            raise


def _lap(started: float) -> float:
    return round(time.perf_counter() - started, 2)


def _sample_positions(total: int) -> set[int]:
    """The articles lead_share reads: the ones the embedded index samples, by number."""
    if not total:
        return set()
    order = np.random.default_rng(0).permutation(total)[: LEAD_SAMPLE * LEAD_READS]
    return set(order.tolist())


def _info(name: str, totals: Totals, baking: Baking, lead_share: float, lead_words: int) -> dict:
    return {
        "format": FORMAT,
        "generation": name,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "articles": totals.articles,
        "paragraphs": totals.paragraphs,
        "paragraph_length": totals.paragraph_length,
        "lengths": {"title": totals.title_length, "body": totals.body_length},
        "baking": baking.__dict__,
        "lead_share": {str(lead_words): lead_share},
        "labels": totals.labels,
        "topics": len(totals.topics),
        "first_date": totals.first_date,
        "last_date": totals.last_date,
    }


def _term_documents(index: str, totals: Totals, info: dict, manifest: dict | None):
    """(the complete info, the terms index's documents): a row per stem, then the info, the
    words and the manifest in parts."""
    words = sorted(w for w, count in totals.words.items() if count > 0)
    word_parts = [words[i : i + WORDS_PER_PART] for i in range(0, len(words), WORDS_PER_PART)]
    text = json.dumps(manifest, ensure_ascii=True) if manifest is not None else ""
    manifest_parts = [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)]
    info = {**info, "words_parts": len(word_parts), "manifest_parts": len(manifest_parts)}

    def documents():
        stems = totals.title_df.keys() | totals.body_df.keys() | totals.paragraph_df.keys()
        for term in stems:
            row = {"kind": "term", "term": term, "t": totals.title_df.get(term, 0),
                   "b": totals.body_df.get(term, 0), "p": totals.paragraph_df.get(term, 0),
                   "bf": totals.body_cf.get(term, 0)}  # fmt: skip
            yield {"_index": index, "_id": term_id(term) or None, "_source": row}
        for part, chunk in enumerate(word_parts):
            data = json.dumps({w: totals.words[w] for w in chunk}, ensure_ascii=False)
            yield {"_index": index, "_id": f"m:words:{part}",
                   "_source": {"kind": "words", "part": part, "data": data}}  # fmt: skip
        for part, chunk in enumerate(manifest_parts):
            yield {"_index": index, "_id": f"m:manifest:{part}",
                   "_source": {"kind": "manifest", "part": part, "data": chunk}}  # fmt: skip
        data = json.dumps(info, ensure_ascii=True)
        yield {"_index": index, "_id": "m:info", "_source": {"kind": "info", "data": data}}

    return info, documents()


def _bulk(cluster: Cluster, actions: Iterable[dict]) -> None:
    """Send `actions` in bulk requests; raise LoadFailed at the first refused document."""
    try:
        for ok, item in helpers.streaming_bulk(
            cluster.client, actions, chunk_size=BULK_DOCS, max_chunk_bytes=BULK_BYTES,
            raise_on_error=False, max_retries=5, initial_backoff=1, request_timeout=BULK_TIMEOUT,
            timeout=SHARD_WAIT,
        ):  # fmt: skip
            if not ok:
                result = next(iter(item.values()))
                raise LoadFailed(f"the cluster refused a document: {_reason(result)}")
    except LoadFailed:
        raise
    except Exception as error:  # the client's own, mapped (a node lost mid-load)
        from searchsvc.engine.opensearch.client import explain

        raise LoadFailed(str(explain(error, cluster.settings))) from error


def _finish(cluster: Cluster, indexes: list[str], replicas: int) -> None:
    """Refresh, add the replicas, and wait (bounded) until every copy is placed."""
    joined = ",".join(indexes)
    cluster.call("indices.refresh", index=joined, request_timeout=BULK_TIMEOUT)
    cluster.call("indices.put_settings", index=joined,
                 body={"number_of_replicas": replicas})  # fmt: skip
    started = time.monotonic()
    health = cluster.call(
        "cluster.health", index=joined, wait_for_status="green",
        params={"timeout": f"{GREEN_TIMEOUT}s"}, request_timeout=GREEN_TIMEOUT + 10,
    )  # fmt: skip
    if health.get("status") != "green":
        waited = time.monotonic() - started
        raise LoadFailed(
            f"the new index's {replicas} replica(s) could not be placed within {waited:.0f} s "
            f"({health.get('number_of_nodes')} nodes, {health.get('unassigned_shards')} shard "
            "copies unassigned); a one-node cluster needs SEARCHSVC_OPENSEARCH_REPLICAS=0"
        )


def _reason(result: dict) -> str:
    error = result.get("error")
    if isinstance(error, dict):
        return f"{error.get('type')}: {error.get('reason')}"
    return str(error or result)


__all__ = ["LoadFailed", "Spool", "load", "EngineUnavailable"]
