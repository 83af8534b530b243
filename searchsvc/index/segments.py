"""A Whoosh writer that closes a segment when its memory is nearly full.

Whoosh buffers postings in a pool; past its memory limit the pool spills
sorted runs to disk and merges them back, a posting at a time in Python, at
commit. On Reuters that spilling and merging was about half of each index's
build time. Closing a segment just before the pool would spill keeps every
pool in memory and sorts it once; memory stays bounded by the limit, not the
corpus. The price is one more segment each time the limit is reached (two
for Reuters' article index); a search reads them all, at a small cost per
segment (see ARTICLE_WRITER_MB in indexer.py).

The intermediate commits write into a generation directory that readers do
not see until it is swapped in, so nothing half-built is ever served.
"""

from __future__ import annotations

from whoosh import index as whoosh_index

from searchsvc.index.codec import PackedCodec

FULL = 0.9  # share of the pool's memory limit at which the segment is closed
SMALL_SEGMENT_DOCS = 2_000  # segments below this are merged into the one being written


def merge_small_segments(writer, segments):
    """Whoosh merge policy: fold small or mostly-deleted segments into the new one.

    Whoosh's default (MERGE_SMALL) compares the running total of documents
    with a Fibonacci number; from about 24 equal segments on, it merges them
    all, which rewrites a whole index through a spilling pool (a 10x Reuters
    build spent over 6 minutes in it). This keeps full segments as they are
    and merges only the small ones an incremental run leaves, and segments
    more than half deleted.
    """
    from whoosh.reading import SegmentReader

    kept = []
    for segment in segments:
        total = segment.doc_count_all()
        if total < SMALL_SEGMENT_DOCS or segment.deleted_count() * 2 > total:
            reader = SegmentReader(writer.storage, writer.schema, segment)
            writer.add_reader(reader)
            reader.close()
        else:
            kept.append(segment)
    return kept


class SegmentedWriter:
    """add_document / delete_by_term / commit / cancel, as Whoosh's writer, a segment per pool."""

    def __init__(self, index, limitmb: int):
        self.index, self.limitmb = index, limitmb
        self.writer = index.writer(limitmb=limitmb, codec=PackedCodec())

    @classmethod
    def open(cls, directory: str, limitmb: int) -> SegmentedWriter:
        return cls(whoosh_index.open_dir(directory), limitmb)

    def add_document(self, **fields) -> None:
        self.writer.add_document(**fields)
        pool = self.writer.pool  # Whoosh's PostingPool: its size estimate and limit, in bytes
        if pool.currentsize >= FULL * pool.limit:
            # merge=False: leave the finished segments alone; the last commit
            # merges small ones (merge_small_segments).
            self.writer.commit(merge=False)
            self.writer = self.index.writer(limitmb=self.limitmb, codec=PackedCodec())

    def delete_by_term(self, fieldname: str, text: str) -> int:
        return self.writer.delete_by_term(fieldname, text)

    def commit(self) -> None:
        self.writer.commit(mergetype=merge_small_segments)

    def cancel(self) -> None:
        """Abandon what was written; never raises, so the error being handled is the one told.

        A writer that committed, or failed while committing, is closed (Whoosh would
        raise "This writer is closed"); one that failed writing (a full disk) fails
        again when Whoosh's cancel finishes its last document. Either way the
        directory is discarded with its generation.
        """
        if self.writer.is_closed:
            return
        try:
            self.writer.cancel()
        except Exception:
            pass
