"""Paragraph scores for snippets: BM25F with the paragraph index's own statistics."""

from __future__ import annotations

from whoosh.scoring import bm25
from whoosh.util.numeric import byte_to_length, length_to_byte


class ParagraphStats:
    """BM25F over the paragraph index's `text` field, for paragraphs scored outside it."""

    def __init__(self, searcher, fieldname: str = "text", B: float = 0.75, K1: float = 1.2):
        self.searcher, self.fieldname, self.B, self.K1 = searcher, fieldname, B, K1
        self.avgfl = searcher.avg_field_length(fieldname) or 1
        self._idf: dict[str, float] = {}

    def idf(self, term: str) -> float:
        value = self._idf.get(term)
        if value is None:
            # The weighting's own formula, as Searcher.idf() gives it, but without its
            # cache: that lives as long as the searcher and would keep every word asked.
            weighting = self.searcher.weighting
            value = self._idf[term] = weighting.idf(self.searcher, self.fieldname, term)
        return value

    def score(self, counts: dict[str, int], length: int) -> float:
        # The index stores lengths in one byte; score with the same rounding.
        fl = byte_to_length(length_to_byte(length))
        return sum(bm25(self.idf(term), tf, fl, self.avgfl, self.B, self.K1)
                   for term, tf in sorted(counts.items()))  # fmt: skip
