"""An archive's own words, unstemmed: counts, corrections and completions.

The index holds stems only (a fuzzy `electon~1` cannot find `elect`), so the
surface words are counted as articles are indexed and saved beside the index
(index/words.py). Corrections use a delete-one index (SymSpell-style): a word
and a candidate meet when deleting at most one letter from the candidate and
at most two from the word gives the same string; the true edit distance then
picks the best.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from searchsvc.text.analysis import STOP_WORDS

WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
MAX_WORDS = 300_000  # most distinct words kept, by frequency: bounds memory on huge corpora
MAX_WORD = 24  # longer "words" are not corrected: candidates grow with the square of length
MIN_SUGGESTED_COUNT = 2  # a correction must occur at least this often in the archive
MAX_CORRECTED_WORDS = 8  # words of one query looked up for a correction: a long text's first
SYNC_BUILD_ARTICLES = 1_000  # up to ~0.2 s built in the request; larger ones in a thread


@dataclass
class Vocabulary:
    counts: Counter
    sorted_words: list[str] = field(default_factory=list)
    # The delete-one index as two arrays sorted by hash(variant): a word per variant
    # (an index into `offered`), 12 bytes an entry where a dict of lists took 170.
    offered: list[str] = field(default_factory=list)
    variant_hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    variant_words: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))

    @classmethod
    def from_texts(cls, texts) -> Vocabulary:
        counts: Counter = Counter()
        for text in texts:
            counts.update(WORD.findall(text.lower()))
        return cls.from_counts(counts)

    @classmethod
    def from_counts(cls, counts: Counter) -> Vocabulary:
        if len(counts) > MAX_WORDS:
            counts = Counter(dict(counts.most_common(MAX_WORDS)))
        # Words seen once are mostly typos themselves: never offered as corrections.
        offered = [w for w, count in counts.items() if len(w) >= 4 and count >= MIN_SUGGESTED_COUNT]
        hashes, words = array("q"), array("i")
        for number, word in enumerate(offered):
            for variant in _deletes(word):
                hashes.append(hash(variant))
                words.append(number)
        order = np.argsort(np.frombuffer(hashes, dtype=np.int64), kind="stable")
        vocabulary = cls(
            counts,
            sorted(counts),
            offered,
            np.frombuffer(hashes, dtype=np.int64)[order],
            np.frombuffer(words, dtype=np.int32)[order],
        )
        return vocabulary

    def correct(self, word: str) -> str | None:
        """A likelier spelling of `word` from the vocabulary, or None to keep it."""
        word = word.lower()
        if not 4 <= len(word) <= MAX_WORD or word in STOP_WORDS or not WORD.fullmatch(word):
            return None
        seen = self.counts.get(word, 0)
        max_distance = 1 if len(word) <= 5 else 2
        candidates = set()
        variants = list({word, *_deletes(word), *_deletes2(word)})
        for variant in variants:
            if self.counts.get(variant, 0) >= MIN_SUGGESTED_COUNT and variant != word:
                candidates.add(variant)
        candidates.update(self._deleted_to(variants))
        candidates.discard(word)
        best = None
        for candidate in candidates:
            distance = edit_distance(word, candidate)
            if distance > max_distance:
                continue
            key = (distance, -self.counts[candidate], candidate)
            if best is None or key < best[0]:
                best = (key, candidate)
        if best is None:
            return None
        candidate = best[1]
        # A word the archive knows is kept unless a neighbour is far more common
        # (a typo that made it into print: "goverment" 3 times, "government" 900).
        if seen and self.counts[candidate] < max(50 * seen, 20):
            return None
        return candidate

    def _deleted_to(self, variants: list[str]) -> set[str]:
        """The offered words that one deleted letter turns into one of `variants`."""
        hashes, size = self.variant_hashes, len(self.variant_hashes)
        if not size:
            return set()
        keys = np.fromiter((hash(v) for v in variants), dtype=np.int64, count=len(variants))
        starts = np.searchsorted(hashes, keys)
        hit = np.flatnonzero(hashes[np.minimum(starts, size - 1)] == keys)
        found = set()
        for number in hit.tolist():
            variant, at = variants[number], int(starts[number])
            while at < size and hashes[at] == keys[number]:
                word = self.offered[self.variant_words[at]]
                if variant in _deletes(word):  # equal hashes are not equal strings
                    found.add(word)
                at += 1
        return found

    def completions(self, prefix: str, limit: int = 5) -> list[str]:
        """The most frequent words starting with `prefix`."""
        prefix = prefix.lower()
        if len(prefix) < 2:
            return []
        start = bisect_left(self.sorted_words, prefix)
        matches = []
        for word in self.sorted_words[start : start + 2000]:
            if not word.startswith(prefix):
                break
            matches.append(word)
        matches.sort(key=lambda w: (-self.counts[w], w))
        return matches[:limit]


def article_texts(record: dict) -> list[str]:
    """The texts of an article (as stored) whose words the vocabulary counts."""
    texts = [] if record.get("title_derived") else [record.get("title") or ""]
    return texts + list(record.get("paragraphs") or ())


def article_words(record: dict) -> Counter:
    counts: Counter = Counter()
    for text in article_texts(record):
        counts.update(WORD.findall(text.lower()))
    return counts


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment)."""
    if a == b:
        return 0
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _deletes2(word: str) -> set[str]:
    return {second for first in _deletes(word) for second in _deletes(first)}
