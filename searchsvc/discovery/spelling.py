"""Did-you-mean and completions from the index's own, unstemmed, vocabulary.

The index holds stems only (`electon~1` cannot find `elect`, WHOOSH-NOTES #6),
so the surface words are counted as articles are indexed and saved beside the
index (`words.json`); a process loads them when it opens the generation (an
index written before that file existed is counted from its stored records).
Corrections use a delete-one index (SymSpell-style): a word and a candidate
meet when deleting at most one letter from the candidate and at most two from
the word gives the same string; the true edit distance then picks the best.
"""

from __future__ import annotations

import json
import re
import threading
import time
from array import array
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from searchsvc.index import store
from searchsvc.text.analysis import STOP_WORDS

WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
MAX_WORDS = 300_000  # most distinct words kept, by frequency: bounds memory on huge corpora
MAX_WORD = 24  # longer "words" are not corrected: candidates grow with the square of length
MIN_SUGGESTED_COUNT = 2  # a correction must occur at least this often in the archive
SYNC_BUILD_ARTICLES = 1_000  # up to ~0.2 s built in the request; larger ones in a thread
MAX_CORRECTED_WORDS = 8  # words of one query looked up for a correction: a long text's first
_QUERY_TOKEN = re.compile(r'"[^"]*"?|\S+')
_OPERATORS = {"AND", "OR", "NOT", "TO", "ANDNOT", "ANDMAYBE"}  # the query language's, not words


@dataclass
class Vocabulary:
    counts: Counter
    sorted_words: list[str] = field(default_factory=list)
    # The delete-one index as two arrays sorted by hash(variant): a word per variant
    # (an index into `offered`), 12 bytes an entry where a dict of lists took 170.
    offered: list[str] = field(default_factory=list)
    variant_hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    variant_words: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    build_ms: float = 0.0

    @classmethod
    def from_texts(cls, texts) -> Vocabulary:
        counts: Counter = Counter()
        for text in texts:
            counts.update(WORD.findall(text.lower()))
        return cls.from_counts(counts)

    @classmethod
    def from_counts(cls, counts: Counter) -> Vocabulary:
        started = time.perf_counter()
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
        vocabulary.build_ms = round((time.perf_counter() - started) * 1000, 1)
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


def suggest_query(text: str, vocabulary: Vocabulary) -> str | None:
    """The query with misspelled words corrected, or None when nothing changes.

    Quoted phrases, field:value terms, operators, wildcards and exclusions are
    left as typed; so is everything a word is glued to (punctuation, case).
    """
    changed = False
    pieces = []
    looked_up = 0
    for match in _QUERY_TOKEN.finditer(text):
        token = match.group(0)
        replacement = token
        if token not in _OPERATORS and not token.startswith(('"', "-", "+")):
            if ":" not in token and "*" not in token:
                core = re.match(r"^(\W*)([^\W\d_]+)(\W*)$", token)
                if core and looked_up < MAX_CORRECTED_WORDS:
                    looked_up += 1
                    fixed = vocabulary.correct(core.group(2))
                    if fixed:
                        replacement = core.group(1) + fixed + core.group(3)
                        changed = True
        pieces.append(replacement)
    return " ".join(pieces) if changed else None


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


# One vocabulary per generation directory (each reindex writes a new one); the last two kept.
_cache: dict[str, Vocabulary] = {}
_building: set[str] = set()
_lock = threading.Lock()


def vocabulary_for(searcher) -> Vocabulary | None:
    """The vocabulary of the article index `searcher` reads.

    Built on the spot from the word counts saved with the generation (0.3 s
    on Reuters, once per process), or, for an index saved without them, from
    its stored records: on the spot when small, else in a background thread,
    answering None (no suggestions yet) until it is ready.
    """
    index = searcher._ix
    key = str(getattr(index.storage, "folder", id(index)))
    found = _cache.get(key)
    if found is not None:
        return found
    folder = getattr(index.storage, "folder", None)
    saved = load_word_counts(Path(folder).parent) if folder else None
    if saved is not None or searcher.doc_count() <= SYNC_BUILD_ARTICLES:
        with _lock:
            if key not in _cache:
                built = Vocabulary.from_counts(saved) if saved is not None else None
                _remember(key, built or _build(searcher.reader()))
            return _cache[key]
    with _lock:
        if key in _building:
            return None
        _building.add(key)

    def build():
        try:
            with index.searcher() as own:
                vocabulary = _build(own.reader())
            with _lock:
                _remember(key, vocabulary)
        finally:
            _building.discard(key)

    threading.Thread(target=build, name="searchsvc-vocabulary", daemon=True).start()
    return None


def _remember(key: str, vocabulary: Vocabulary) -> None:
    while len(_cache) >= 2:
        _cache.pop(next(iter(_cache)))
    _cache[key] = vocabulary


def article_texts(record: dict) -> list[str]:
    """The texts of an article (as stored) whose words the vocabulary counts."""
    texts = [] if record.get("title_derived") else [record.get("title") or ""]
    return texts + list(record.get("paragraphs") or ())


def article_words(record: dict) -> Counter:
    counts: Counter = Counter()
    for text in article_texts(record):
        counts.update(WORD.findall(text.lower()))
    return counts


WORDS_FILE = "words.json"


def count_words(reader) -> Counter:
    """The words of every article an article index's reader holds, from its stored records."""
    counts: Counter = Counter()
    for fields in reader.all_stored_fields():
        counts.update(article_words(json.loads(fields["record"])))
    return counts


def save_word_counts(generation_path: Path, counts: Counter) -> None:
    kept = {word: count for word, count in counts.items() if count > 0}
    store.write_json(generation_path / WORDS_FILE, kept)


def load_word_counts(generation_path: Path) -> Counter | None:
    """The counts saved with a generation; None when it has none (or they are unreadable)."""
    counts = store.read_json(generation_path / WORDS_FILE)
    return Counter(counts) if counts is not None else None


def _build(reader) -> Vocabulary:
    return Vocabulary.from_counts(count_words(reader))


# Typo tolerance and last-word prefix, as extra low-weight clauses of the any-word query.
TYPO_BOOST = 0.4  # a corrected word counts for this fraction of a word typed right
PREFIX_BOOST = 0.3  # a completion of the last word, likewise
PREFIX_COMPLETIONS = 5  # most completions of the last word searched for
PREFIX_KNOWN_COUNT = 5  # a last word seen this often is taken as typed in full
# At most this many clauses are added to a query: a headline and a body clause per word.
MAX_TOLERANT_CLAUSES = 2 * (MAX_CORRECTED_WORDS + PREFIX_COMPLETIONS)
_TEXT_FIELDS = ("title", "body")
_FILTER_FIELDS = {"source", "date", "topic"}


def tolerant_clauses(text: str, searcher, vocabulary: Vocabulary | None) -> list:
    """Extra clauses for misspelled words and for the last word as a prefix.

    Corrections come from suggest_query's rules; the last plain word (three
    letters or more) adds its most frequent completions. Words are analysed
    with the index's own analyzer, so stemming still applies; the low boosts
    rank articles found only this way below those with the words as typed.
    """
    if vocabulary is None or not text:
        return []
    from whoosh import query as Q

    analyzer = searcher.schema["body"].analyzer
    words: dict[str, float] = {}
    tokens = [m.group(0) for m in _QUERY_TOKEN.finditer(text)]
    looked_up = 0
    for token in tokens:
        if token in _OPERATORS or token.startswith(('"', "-", "+")) or ":" in token:
            continue
        core = re.fullmatch(r"\W*([^\W\d_]+)\W*", token)
        # A word the archive knows well is searched as typed: widening it to a commoner
        # neighbour would cost a long posting list for little (questions ran 1.6x slower).
        if (
            core
            and "*" not in token
            and vocabulary.counts.get(core.group(1).lower(), 0) < PREFIX_KNOWN_COUNT
            and looked_up < MAX_CORRECTED_WORDS
        ):
            looked_up += 1
            fixed = vocabulary.correct(core.group(1))
            if fixed:
                words[fixed] = max(words.get(fixed, 0.0), TYPO_BOOST)
    # The last word typed, looking past trailing field filters ("petrol source:ap").
    plain = [token for token in tokens if ":" not in token]
    last = plain[-1] if plain else ""
    # Only a word the archive hardly knows is a prefix: completing "oil" to "oilseed"
    # would reorder what the user typed in full (and costs 3-5x the time on Reuters).
    if (
        re.fullmatch(r"[^\W\d_]{3,}", last)
        and last not in _OPERATORS
        and vocabulary.counts.get(last.lower(), 0) < PREFIX_KNOWN_COUNT
    ):
        for word in vocabulary.completions(last, PREFIX_COMPLETIONS):
            if word != last.lower():
                words[word] = max(words.get(word, 0.0), PREFIX_BOOST)
    typed = {token.text for token in analyzer(text)}
    clauses = []
    for word, boost in sorted(words.items()):
        for stem in {token.text for token in analyzer(word)} - typed:
            clauses += [Q.Term(field, stem, boost=boost) for field in _TEXT_FIELDS]
    return clauses[:MAX_TOLERANT_CLAUSES]


def widen(query, clauses: list):
    """`query` that also matches `clauses` (any-word), keeping its filters and exclusions.

    Explicit AND queries are left alone: widening them would change their meaning.
    """
    from whoosh import query as Q

    if not clauses:
        return query
    if isinstance(query, Q.AndNot):
        return Q.AndNot(widen(query.a, clauses), query.b)
    if isinstance(query, Q.And):
        filters = [child for child in query.subqueries if _only_filters(child)]
        ranked = [child for child in query.subqueries if not _only_filters(child)]
        if not filters or len(ranked) != 1:
            return query
        return Q.And([Q.Or([ranked[0], *clauses]), *filters])
    if isinstance(query, Q.Every) or _only_filters(query):
        return query
    return Q.Or([query, *clauses])


def _only_filters(query) -> bool:
    leaves = [query] if query.is_leaf() else list(query.leaves())
    fields = {getattr(leaf, "fieldname", None) for leaf in leaves}
    return bool(fields) and fields <= _FILTER_FIELDS
