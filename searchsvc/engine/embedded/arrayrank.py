"""Every match of a query scored at once, with NumPy arrays: the ranked window and the match set.

Whoosh steps its matcher tree a document at a time, several Python calls per
node per document, and prunes with block maxima where it can; that stepping
was most of a query's time. Here the same matcher tree, as Whoosh builds it
for the query, is evaluated a node at a time instead: each term's posting
list becomes arrays (decoded once per segment and kept, within a budget, in
the generation's state), its scores come from the scorer's own formula
applied to a whole array, and each combining node (union, intersection,
exclusion, boost, filter) becomes one array operation with Whoosh's
arithmetic in Whoosh's order. The scores
are therefore the ones Whoosh computes, bit for bit, for every matching
document; ties are broken as Whoosh's collectors break them.

Phrases are swapped for ArrayPhrase before the tree is built, so that their
positions are matched with arrays too, and cached date ranges are bound to
the generation's state. Nodes this module does not know
(other span queries, scorers other than searchsvc's and Whoosh's weight
scorer, posting lists in whoosh3's own layout) are walked as Whoosh walks
them, a document at a time, so any query still gets Whoosh's own answer.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from whoosh import matching
from whoosh import query as Q
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.binary import IntersectionMatcher
from whoosh.query.spans import SpanNear2
from whoosh.scoring import WeightScorer
from whoosh.util import make_binary_tree

from searchsvc.engine.embedded.datecolumn import bound_to, index_dates
from searchsvc.engine.embedded.ranking import (
    CoordinationMatcher,
    NewsScorer,
    WordMatcher,
    field_length_array,
)
from searchsvc.engine.embedded.state import GenerationState, state_of
from searchsvc.index.codec import PackedLeafMatcher, PackedPositions, PostingArrays, inlined_arrays


@dataclass(frozen=True)
class Ranking:
    matched: np.ndarray  # every matching top-level document number, ascending
    top: list[tuple[int, float | None]]  # the first `window` (docnum, score), best first


def rank(searcher, query, window: int, by_date: bool = False) -> Ranking:
    """The documents `query` matches, and the best `window` of them.

    By relevance, ties go to the lower document number (as Whoosh's top
    collector orders them); by date, newest first, undated last, ties to the
    higher document number (the later indexed), and no scores.
    """
    state = state_of(searcher)
    query = query.accept(lambda node: bound_to(_with_arrays(node), state))
    total = searcher.doc_count_all()
    mask = np.zeros(total, dtype=bool)
    scores = None if by_date else np.zeros(total, dtype=np.float64)
    for subsearcher, offset in searcher.leaf_searchers():
        context = subsearcher.context(needs_current=True, weighting=searcher.weighting)
        size = subsearcher.doc_count_all()
        node = _Evaluator(state, subsearcher.reader(), size, scored=not by_date)
        leaf_mask, leaf_scores = node.evaluate(query.matcher(subsearcher, context))
        mask[offset : offset + size] = leaf_mask
        if scores is not None:
            scores[offset : offset + size] = leaf_scores
    matched = np.flatnonzero(mask)
    if by_date:
        # Undated documents hold 0, so they come last (Whoosh's sort puts them
        # first: its column default is the largest value).
        keys = index_dates(state, searcher.reader())[matched]
        order = np.lexsort((-matched, -keys))[:window]
        return Ranking(matched, [(int(matched[i]), None) for i in order])
    return Ranking(matched, _best(matched, scores[matched], window))


def _best(docnums: np.ndarray, scores: np.ndarray, window: int) -> list[tuple[int, float]]:
    """The `window` highest scores, ties to the lower document number."""
    if window <= 0 or not len(docnums):
        return []
    if len(docnums) > window:
        # Everything scoring at least the window's lowest score, then exact order.
        threshold = np.partition(scores, len(scores) - window)[len(scores) - window]
        keep = scores >= threshold
        docnums, scores = docnums[keep], scores[keep]
    order = np.lexsort((docnums, -scores))[:window]
    return [(int(docnums[i]), float(scores[i])) for i in order]


class _Evaluator:
    """One segment's matcher tree -> (mask, scores) arrays over the segment's documents."""

    def __init__(self, state: GenerationState, reader, size: int, scored: bool):
        self.state = state
        self.reader = reader
        self.size = size
        self.scored = scored

    def evaluate(self, matcher) -> tuple[np.ndarray, np.ndarray | None]:
        """The documents `matcher` has yet to produce, from its current position, and scores."""
        if not matcher.is_active():
            return self._empty()
        kind = type(matcher)
        if kind in _LEAVES or (kind is matching.ListMatcher and matcher._scorer):
            scorer = matcher._scorer if kind is matching.ListMatcher else matcher.scorer
            return self._leaf(matcher, scorer)
        if kind is matching.ListMatcher:  # cached date ranges, Every: weights are the scores
            return self._list(matcher)
        if kind is matching.UnionMatcher:
            return self._combine(matcher, np.logical_or, np.add)
        if kind is matching.IntersectionMatcher:
            return self._combine(matcher, np.logical_and, np.add)
        if kind is matching.RequireMatcher:
            return self._combine(matcher, np.logical_and, lambda a, b: a)
        if kind is matching.AndMaybeMatcher:
            return self._combine(matcher, lambda a, b: a, np.add)
        if kind is matching.AndNotMatcher:
            mask, scores = self.evaluate(matcher.a)
            excluded, _ = self._unscored().evaluate(matcher.b)
            return mask & ~excluded, self._where(mask & ~excluded, scores)
        if kind is matching.ArrayUnionMatcher:
            return self._array_union(matcher)
        if kind is matching.WrappingMatcher:
            mask, scores = self.evaluate(matcher.child)
            return mask, scores if scores is None else scores * matcher.boost
        if kind is matching.FilterMatcher:
            mask, scores = self.evaluate(matcher.child)
            ids = np.fromiter(matcher._ids, dtype=np.int64, count=len(matcher._ids))
            listed = np.zeros(self.size, dtype=bool)
            listed[ids[ids < self.size]] = True
            mask = mask & ~listed if matcher._exclude else mask & listed
            if scores is not None:
                scores = self._where(mask, scores * matcher.boost)
            return mask, scores
        if kind is matching.ConstantScoreWrapperMatcher:
            mask, _ = self.evaluate(matcher.child)
            return mask, self._where(mask, matcher._score) if self.scored else None
        if kind is CoordinationMatcher:
            return self._coordinated(matcher)
        if kind is WordMatcher:
            return self._word(matcher)
        return self._walk(matcher)

    def _unscored(self) -> _Evaluator:
        """The same segment, matches only: for excluded clauses, whose scores nobody reads."""
        return self if not self.scored else _Evaluator(self.state, self.reader, self.size, False)

    def _array_union(self, matcher):
        """Whoosh's buffered union (wildcards, several excluded words), from where it stands.

        It has summed its children's scores into a buffer for documents
        `_offset` to `_limit`, and its children stand at `_limit` or beyond;
        a document matches where its sum is above zero, as in Whoosh.
        """
        offset, limit, current = matcher._offset, matcher._limit, matcher._docnum
        totals = np.zeros(self.size)
        if current < limit:
            buffered = np.frombuffer(matcher._a, dtype=np.float64)
            totals[current:limit] = buffered[current - offset : limit - offset]
        scored = matcher._scored and self.scored
        evaluator = self if scored else self._unscored()
        for child in matcher._submatchers:
            mask, scores = evaluator.evaluate(child)
            if scored:
                totals += scores * matcher._boost
            else:
                totals[mask] = 1.0
        mask = totals > 0
        return mask, (totals if self.scored else None)

    def _empty(self):
        mask = np.zeros(self.size, dtype=bool)
        return mask, np.zeros(self.size) if self.scored else None

    def _where(self, mask: np.ndarray, scores) -> np.ndarray | None:
        """`scores` where `mask`, zero elsewhere (so that sums add nothing for a non-match)."""
        if not self.scored:
            return None
        return np.where(mask, scores, 0.0)

    def _combine(self, matcher, join, add):
        # Whoosh's union and intersection add child scores as a.score() + b.score(),
        # or a's alone where b does not match; zeros elsewhere make one sum do both.
        mask_a, scores_a = self.evaluate(matcher.a)
        mask_b, scores_b = self.evaluate(matcher.b)
        mask = join(mask_a, mask_b)
        if not self.scored:
            return mask, None
        scores = add(scores_a, scores_b)
        # A union's sum is already zero wherever neither child matches.
        return mask, scores if join is np.logical_or else self._where(mask, scores)

    def _coordinated(self, matcher: CoordinationMatcher):
        masks, total, matched = [], None, np.zeros(self.size)
        for child in matcher.children():
            mask, scores = self.evaluate(child)
            masks.append(mask)
            matched += mask
            if scores is not None:
                total = scores if total is None else total + scores
        mask = np.logical_or.reduce(masks) if masks else np.zeros(self.size, dtype=bool)
        if not self.scored or total is None:
            return mask, self._where(mask, 0.0)
        share = (matched / matcher._clauses) ** matcher._exponent
        return mask, self._where(mask, matcher._boost * total * share)

    def _word(self, matcher: WordMatcher):
        """One word over several fields: ranking.WordMatcher.score's arithmetic, on arrays."""
        children = matcher.children()
        if not self.scored:
            masks = [self.evaluate(child)[0] for child in children]
            return np.logical_or.reduce(masks), None
        scoring = matcher.scoring
        found = []
        for child, field in zip(children, scoring.fields, strict=True):
            lead_words = scoring.lead_words if field.name == "body" else 0
            arrays = self._field_postings(child, lead_words) if child.is_active() else ()
            if arrays is None:
                return self._walk(matcher)
            found.append((field, arrays))
        found = [(field, arrays) for field, arrays in found if arrays and len(arrays[0])]
        if not found:
            return self._empty()
        mask = np.zeros(self.size, dtype=bool)
        for _, arrays in found:
            mask[arrays[0]] = True
        # Frequencies over the word's own documents, not the whole segment.
        docs = found[0][1][0] if len(found) == 1 else np.flatnonzero(mask)
        frequency = np.zeros(len(docs))
        in_lead = np.zeros(len(docs)) if scoring.lead_words else None
        for field, (ids, weights, lead) in found:
            at = np.searchsorted(docs, ids)
            lengths = field_length_array(self.state, self.reader, field.name)[ids]
            norm = (1 - field.b) + field.b * lengths / field.average
            frequency[at] += field.weight * weights / norm
            if lead is not None and in_lead is not None:
                in_lead[at] = lead
        k1, idf = scoring.k1, scoring.idf
        score = idf * ((frequency * (k1 + 1)) / (frequency + k1))
        if in_lead is not None:
            credit = scoring.lead_weight * idf * (in_lead * (k1 + 1) / (in_lead + k1))
            score = np.where(in_lead > 0, score + credit, score)
        scores = np.zeros(self.size)
        scores[docs] = score
        return mask, scores

    def _field_postings(self, matcher, lead_words: int):
        """(ids, frequencies, occurrences in the lead or None) still ahead of a term's
        matcher, deleted documents left out; None for a matcher without an array form."""
        listed = None
        if type(matcher) is matching.FilterMatcher:
            listed = (matcher._ids, matcher._exclude)
            matcher = matcher.child
        if type(matcher) not in _LEAVES and type(matcher) is not matching.ListMatcher:
            return None
        at_start = type(matcher) is PackedLeafMatcher and matcher.at_start()
        current = 0 if at_start else matcher.id()
        postings = _postings(self.state, self.reader, matcher, lead_words)
        if postings is None or (lead_words and postings.in_lead is None):
            return None
        start = np.searchsorted(postings.ids, current)
        ids = postings.ids[start:]
        weights = postings.weights[start:].astype(np.float64)
        in_lead = postings.in_lead[start:] if lead_words else None
        if listed is not None:
            marked = np.zeros(self.size, dtype=bool)
            excluded = np.fromiter(listed[0], dtype=np.int64, count=len(listed[0]))
            marked[excluded[excluded < self.size]] = True
            keep = ~marked[ids] if listed[1] else marked[ids]
            ids, weights = ids[keep], weights[keep]
            in_lead = in_lead[keep] if in_lead is not None else None
        return ids, weights, in_lead

    def _list(self, matcher):
        ids = np.asarray(matcher._ids[matcher._i :], dtype=np.int64)
        mask = np.zeros(self.size, dtype=bool)
        mask[ids] = True
        if not self.scored:
            return mask, None
        scores = np.zeros(self.size)
        if matcher._all_weights:
            scores[ids] = matcher._all_weights
        elif matcher._weights:
            scores[ids] = np.asarray(matcher._weights[matcher._i :], dtype=np.float64)
        else:
            scores[ids] = 1.0
        return mask, scores

    def _leaf(self, matcher, scorer):
        if self.scored and type(scorer) not in (NewsScorer, WeightScorer):
            return self._walk(matcher)
        lead_words = scorer.lead_words if self.scored and type(scorer) is NewsScorer else 0
        # Where the matcher stands (reading the postings moves it); a matcher
        # still on its first posting need not decode a block to say so.
        at_start = type(matcher) is PackedLeafMatcher and matcher.at_start()
        current = 0 if at_start else matcher.id()
        postings = _postings(self.state, self.reader, matcher, lead_words)
        if postings is None:
            return self._walk(matcher)
        start = np.searchsorted(postings.ids, current)
        ids = postings.ids[start:]
        mask = np.zeros(self.size, dtype=bool)
        mask[ids] = True
        if not self.scored:
            return mask, None
        weights = postings.weights[start:].astype(np.float64)
        scores = np.zeros(self.size)
        if type(scorer) is WeightScorer:
            scores[ids] = weights
            return mask, scores
        lengths = field_length_array(self.state, self.reader, matcher.term()[0])[ids]
        k1, b = scorer.K1, scorer.B
        # ranking.NewsScorer.score and whoosh.scoring.bm25, term for term.
        norm = (1 - b) + b * lengths / scorer.avgfl
        leaf = scorer.idf * ((weights * (k1 + 1)) / (weights + k1 * norm))
        if lead_words:
            in_lead = postings.in_lead[start:].astype(np.float64)
            credit = scorer.lead_weight * scorer.idf * (in_lead * (k1 + 1) / (in_lead + k1))
            leaf = np.where(in_lead > 0, leaf + credit, leaf)
        scores[ids] = leaf
        return mask, scores

    def _walk(self, matcher):
        """Whoosh's own document-at-a-time walk, for matchers without an array form."""
        ids, scores = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            if self.scored:
                scores.append(matcher.score())
            matcher.next()
        mask = np.zeros(self.size, dtype=bool)
        index = np.asarray(ids, dtype=np.int64)
        mask[index] = True
        if not self.scored:
            return mask, None
        dense = np.zeros(self.size)
        dense[index] = scores
        return mask, dense


# Posting-list matchers: codec.py's are read as arrays; whoosh3's own, from an
# index written before codec.py, are walked (_postings gives None for them).
_LEAVES = (W3LeafMatcher, PackedLeafMatcher)


def _has_positions(leaf) -> bool:
    if type(leaf) is PackedLeafMatcher:
        return type(leaf.format) is PackedPositions
    return type(leaf) is matching.ListMatcher and leaf._format.supports("positions")


def _positions(state: GenerationState, reader, leaf) -> PostingArrays:
    """A leaf's whole posting list with positions, cached as the scoring arrays are."""
    key = (state.segment_key(reader), leaf.term(), "positions")
    cached = state.postings.get(key)
    if cached is None:
        if type(leaf) is PackedLeafMatcher:
            cached = leaf.read_arrays(positions=True)
        else:
            cached = inlined_arrays(leaf, positions=True)
        if key[0] is not None:
            state.postings.put(key, cached, cached.nbytes)
    return cached


def _positions_in(postings: PostingArrays, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(document, position) pairs of the postings in `docs`, all of which the list holds."""
    rows = np.searchsorted(postings.ids, docs)
    counts = postings.position_counts[rows]
    firsts = postings.position_starts[rows]
    total = int(counts.sum())
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts - firsts, counts)
    return np.repeat(docs.astype(np.int64), counts), postings.positions[offsets]


class ArrayAndNot(Q.AndNot):
    """A AND NOT B whose matcher lists a segment's matches, found with arrays.

    Whoosh's AndNotMatcher skips, as soon as it is built, every document of A
    that B also matches, a document at a time: where B covers most of A
    (`co* ANDNOT co*`) that walk took 3-7 s on Reuters. Here A is evaluated with
    its scores and B without, and A's documents outside B come back as a
    ListMatcher whose weights are A's scores, as ArrayPhrase does.
    """

    def matcher(self, searcher, context=None):
        scored = context is None or context.weighting is not None
        evaluator = _Evaluator(
            state_of(searcher), searcher.reader(), searcher.doc_count_all(), scored
        )
        mask, scores = evaluator.evaluate(self.a.matcher(searcher, context))
        excluded, _ = evaluator._unscored().evaluate(
            self.b.matcher(searcher, searcher.boolean_context())
        )
        return _listed(np.flatnonzero(mask & ~excluded), scores, scored, self.boost)


def _with_arrays(node: Q.Query) -> Q.Query:
    """The node as its array-evaluated class, where Whoosh's matcher would walk when built."""
    swap = {Q.Phrase: ArrayPhrase, Q.AndNot: ArrayAndNot}.get(type(node))
    if swap is not None:
        node = copy.copy(node)
        node.__class__ = swap
    return node


def _listed(docs: np.ndarray, scores, scored: bool, boost: float):
    """A segment's matches as a ListMatcher whose weights are their scores."""
    weights = scores[docs].tolist() if scored else None
    found = matching.ListMatcher(docs.tolist(), weights=weights, term=None)
    return found if boost == 1.0 else matching.WrappingMatcher(found, boost=boost)


class ArrayPhrase(Q.Phrase):
    """A phrase whose matcher lists a segment's matches, found with arrays.

    Whoosh's phrase matcher (SpanNear2's) walks the words' intersection to its
    first match as soon as it is built, checking positions a document at a
    time; for a phrase that is rare in a segment, that is the whole walk. Here
    the words' intersection is evaluated with arrays (Whoosh's scores, added in
    its order), and kept where the positions line up as SpanNear2's ordered
    spans would, slop included. The matches come back as a ListMatcher whose
    weights are the scores, so any parent matcher, Whoosh's or ours, reads it.
    """

    def matcher(self, searcher, context=None):
        field = searcher.schema[self.fieldname] if self.fieldname in searcher.schema else None
        if field is None or type(field.format) is not PackedPositions:
            return super().matcher(searcher, context)  # Whoosh's checks, errors and walk
        reader = searcher.reader()
        try:
            words = [field.to_bytes(word) for word in self.words]
        except ValueError:
            return matching.NullMatcher()
        if any((self.fieldname, word) not in reader for word in words):
            return matching.NullMatcher()
        context = SpanNear2._span_context(context)
        ms = [Q.Term(self.fieldname, word).matcher(searcher, context) for word in words]
        leaves = [m.child if type(m) is matching.FilterMatcher else m for m in ms]
        if not all(_has_positions(leaf) for leaf in leaves):
            return super().matcher(searcher, context)
        scored = context is None or context.weighting is not None
        state = state_of(searcher)
        evaluator = _Evaluator(state, reader, searcher.doc_count_all(), scored)
        # Evaluated before the positions are read: reading moves the leaves.
        mask, scores = evaluator.evaluate(make_binary_tree(IntersectionMatcher, ms))
        docs = np.flatnonzero(mask)
        if len(docs):
            positions = [_positions_in(_positions(state, reader, leaf), docs) for leaf in leaves]
            spans = _Spans.starting(*positions[0])
            for word_docs, word_positions in positions[1:]:
                if not len(spans.docs):
                    break
                spans = spans.followed_by(word_docs, word_positions, self.slop)
            docs = np.unique(spans.docs)
        return _listed(docs, scores, scored, self.boost)


@dataclass(frozen=True)
class _Spans:
    """Phrase spans so far, as SpanNear2 keeps them: (document, first position, last position)."""

    docs: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def starting(cls, docs: np.ndarray, positions: np.ndarray) -> _Spans:
        return cls(docs, positions, positions)

    def followed_by(self, docs: np.ndarray, positions: np.ndarray, slop: int) -> _Spans:
        """The spans extended by a word 1 to `slop` positions after their end (ordered)."""
        present = np.unique((docs << 32) | positions)
        found = []
        for gap in range(1, slop + 1):
            probe = (self.docs << 32) | (self.ends + gap)
            at = np.minimum(np.searchsorted(present, probe), len(present) - 1)
            hit = present[at] == probe
            found.append((self.docs[hit], self.starts[hit], self.ends[hit] + gap))
        columns = [np.concatenate(column) for column in zip(*found, strict=True)]
        if slop > 1:  # a span reached through two gaps is one span
            columns = list(np.unique(np.stack(columns), axis=1))
        return _Spans(*columns)


@dataclass(frozen=True)
class _Postings:
    ids: np.ndarray  # ascending document numbers in the segment
    weights: np.ndarray  # the term's weight (frequency) in each
    in_lead: np.ndarray | None  # how many of its positions fall in the lead

    @property
    def nbytes(self) -> int:
        lead = 0 if self.in_lead is None else self.in_lead.nbytes
        return self.ids.nbytes + self.weights.nbytes + lead


def _postings(state: GenerationState, reader, matcher, lead_words: int) -> _Postings | None:
    """The whole posting list under a leaf matcher (whatever its position), as arrays."""
    term = matcher.term()
    if term is None:
        return None
    key = (state.segment_key(reader), term, lead_words)
    cached = state.postings.get(key)
    if cached is not None:
        return cached
    if type(matcher) is matching.ListMatcher and (not lead_words or _has_positions(matcher)):
        arrays = inlined_arrays(matcher, positions=bool(lead_words))  # inlined in the term info
    elif type(matcher) is PackedLeafMatcher and (not lead_words or _has_positions(matcher)):
        arrays = matcher.read_arrays(positions=bool(lead_words))
    else:  # whoosh3's pickled blocks, from an index older than codec.py: walked
        return None
    in_lead = None
    if lead_words:
        posting = np.repeat(np.arange(len(arrays.ids)), arrays.position_counts)
        in_lead = np.bincount(posting[arrays.positions < lead_words], minlength=len(arrays.ids))
        in_lead = in_lead.astype(np.int32)
    postings = _Postings(arrays.ids.astype(np.int32), arrays.weights, in_lead)
    if key[0] is not None:
        state.postings.put(key, postings, postings.nbytes)
    return postings
