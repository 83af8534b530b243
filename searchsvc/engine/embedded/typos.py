"""Typo tolerance: misspelled words' corrections and the last word's completions, as extra
low-weight clauses of the any-word query (a ranking choice, measured in docs/ranking.md)."""

from __future__ import annotations

import re
import threading
import weakref

from whoosh import query as Q

from searchsvc.engine.embedded.state import GenerationState, state_of
from searchsvc.index.words import count_words, load_word_counts
from searchsvc.text.querylang import NEGATING, OPERATORS, TOKEN, as_read
from searchsvc.text.vocabulary import MAX_CORRECTED_WORDS, SYNC_BUILD_ARTICLES, Vocabulary


def vocabulary_for(searcher) -> Vocabulary | None:
    """The vocabulary of the article index `searcher` reads (see generation_vocabulary)."""
    return generation_vocabulary(state_of(searcher), searcher)


def generation_vocabulary(state: GenerationState, searcher) -> Vocabulary | None:
    """The vocabulary of the generation `state` holds, kept there; `searcher` reads its articles.

    Built on the spot from the word counts saved with the generation (0.3 s
    on Reuters, once per process), or, for an index saved without them, from
    its stored records: on the spot when small, else in a background thread,
    answering None (no suggestions yet) until it is ready.
    """
    if state.vocabulary is not None:
        return state.vocabulary
    saved = load_word_counts(state.path) if state.path is not None else None
    # Without its index at hand, a state cannot count in the background: it counts now.
    in_background = state.articles is not None and searcher.doc_count() > SYNC_BUILD_ARTICLES
    if saved is not None or not in_background:
        with state.lock:
            if state.vocabulary is None:
                built = Vocabulary.from_counts(saved) if saved is not None else None
                state.vocabulary = built or _build(searcher.reader())
            return state.vocabulary
    with state.lock:
        if state.vocabulary_pending:
            return None
        state.vocabulary_pending = True
    index, owner = state.articles, weakref.ref(state)  # a state swapped out meanwhile may go

    def build():
        vocabulary = None
        try:
            with index.searcher() as own:
                vocabulary = _build(own.reader())
        finally:
            alive = owner()
            if alive is not None:
                alive.vocabulary = vocabulary
                alive.vocabulary_pending = False

    threading.Thread(target=build, name="searchsvc-vocabulary", daemon=True).start()
    return None


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
    analyzer = searcher.schema["body"].analyzer
    words: dict[str, float] = {}
    text = as_read(text)  # a sign that is punctuation does not hide a misspelled word
    # An excluded word (after NOT) is neither corrected nor completed: not searched for.
    every = [m.group(0) for m in TOKEN.finditer(text)]
    tokens = [
        token
        for before, token in zip(["", *every], every, strict=False)
        if before.lstrip("(") not in NEGATING
    ]
    looked_up = 0
    for token in tokens:
        if token in OPERATORS or token.startswith(('"', "-", "+")) or ":" in token:
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
        and last not in OPERATORS
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
