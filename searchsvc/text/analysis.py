"""Text analysis: NLTK tokenizing and Snowball stemming as picklable Whoosh pieces.

Whoosh pickles the analyzer into the index, so everything here lives at this
import path for good: renaming the module or a class breaks existing indexes.
The same analyzer runs at index time and at query time.

Speed: news text repeats a small vocabulary, so the whole word -> term chain
(Unicode normalisation, case and accent folding, stemming) runs once per
distinct raw word and is then a dict lookup; tokens come straight from the
NLTK tokenizer's compiled pattern. One generator per field instead of five.
"""

from __future__ import annotations

import importlib
import sys
import threading
import unicodedata
from collections.abc import Iterator
from typing import Any

import regex
from whoosh.analysis import Filter, Token, Tokenizer
from whoosh.support.charset import accent_map

# Words, numbers, and words joined by an apostrophe or an inner period
# ("o'neill", "u.s", "3.5"); hyphenated words are split into their parts.
TOKEN_PATTERN = r"\w+(?:['’.]\w+)*"
# RegexpTokenizer's default flags, so tokens are exactly NLTK's.
_NLTK_FLAGS = regex.UNICODE | regex.MULTILINE | regex.DOTALL
TERM_CACHE_SIZE = 200_000  # distinct raw words remembered; Reuters has about 60,000

_snowball = None  # NLTK's English Snowball stemmer, loaded on first use
_TERMS: dict[str, str] = {}  # raw word -> term, shared by every FoldStemFilter
_import_lock = threading.Lock()

# Function words dropped from the any-word part of a query (never from phrases,
# never at index time). Whoosh's list plus question words, so that a verbose
# question is ranked by its content words.
STOP_WORDS = frozenset(
    """a about an and are as at be been but by can could did do does for from had has
    have how i if in into is it its may me might my not of on or our shall should so
    than that the their them then there these they this those to us was we were what
    when where which who whom whose why will with would yet you your""".split()
)


def snowball_stem(word: str) -> str:
    """English Snowball stem; a module-level function so the analyzer pickles."""
    global _snowball
    if _snowball is None:
        # Importing NLTK takes seconds; a run that stems nothing (an unchanged
        # reindex, a server before its first query) should not pay for it.
        SnowballStemmer = import_from_nltk("nltk.stem.snowball").SnowballStemmer

        _snowball = SnowballStemmer("english")
    return _snowball.stem(word)


def import_from_nltk(module: str):
    """An NLTK module, imported without SciPy.

    `import nltk` loads nltk.metrics, which imports SciPy (installed here for
    the evaluation command) only for a statistic we never use: 0.9 s of every
    process start. Hiding SciPy while NLTK loads makes NLTK take the fallback it
    has for a missing SciPy (no Fisher's exact test); SciPy imports normally
    afterwards. Only the first NLTK import of a process hides it, under a lock.
    """
    with _import_lock:
        if "nltk" in sys.modules or "scipy" in sys.modules:
            return importlib.import_module(module)
        sys.modules["scipy"] = None  # type: ignore[assignment]  # makes `import scipy` fail
        try:
            return importlib.import_module(module)
        finally:
            if "scipy" in sys.modules and sys.modules["scipy"] is None:
                del sys.modules["scipy"]


def fold_and_stem(word: str) -> str:
    """One raw word -> its index term: NFKC, straight apostrophes, lower case, no accents, stem."""
    if not word.isascii():
        word = unicodedata.normalize("NFKC", word).replace("’", "'")
    return snowball_stem(word.lower().translate(accent_map))


class NltkTokenizer(Tokenizer):
    """Splits text with NLTK's RegexpTokenizer, keeping positions and character spans."""

    def __init__(self, pattern: str = TOKEN_PATTERN):
        self.pattern = pattern
        # NLTK's RegexpTokenizer.span_tokenize is the `regex` engine's finditer
        # over this pattern (with NLTK's flags) behind two generator layers and
        # a ReDoS timeout; the pattern is fixed and linear, so call it directly.
        self._finditer = regex.compile(pattern, _NLTK_FLAGS).finditer

    def __getstate__(self) -> dict[str, Any]:
        return {"pattern": self.pattern}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["pattern"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NltkTokenizer) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.text = value
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar = start_char
                token.endchar = start_char + len(value)
            yield token
            return
        pos = start_pos
        for match in self._finditer(value):
            token.text = match.group()
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = token.text
            if positions:
                token.pos = pos
                pos += 1
            if chars:
                start, end = match.span()
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


class FoldStemFilter(Filter):
    """Raw word -> term (see fold_and_stem), memoised by the raw word."""

    def __init__(self, cachesize: int = TERM_CACHE_SIZE):
        self.cachesize = cachesize
        self._cache = _TERMS  # one table for the process: the index's words warm queries

    def __getstate__(self) -> dict[str, Any]:
        return {"cachesize": self.cachesize}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["cachesize"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FoldStemFilter) and other.cachesize == self.cachesize

    def __hash__(self) -> int:
        return hash(self.cachesize)

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        cache = self._cache
        for token in tokens:
            raw = token.text
            term = cache.get(raw)
            if term is None:
                if len(cache) >= self.cachesize:
                    cache.clear()  # rare; a cleared cache only costs recomputation
                term = cache[raw] = fold_and_stem(raw)
            token.text = term
            yield token


def news_analyzer():
    """The one analyzer for every text field: NLTK tokens, folded case and accents, stems."""
    return NltkTokenizer() | FoldStemFilter()


_STOP_STEMS: frozenset[str] | None = None


def stop_stems() -> frozenset[str]:
    """The stop words as the analyzer indexes them."""
    global _STOP_STEMS
    if _STOP_STEMS is None:
        analyzer = news_analyzer()
        _STOP_STEMS = frozenset(t.text for w in STOP_WORDS for t in analyzer(w))
    return _STOP_STEMS


_spans_tokenizer = NltkTokenizer()
_spans_filter = FoldStemFilter()


def term_table() -> dict[str, str]:
    """The raw word -> term table this process has built (to save beside an index)."""
    return _TERMS


def load_term_table(table: dict[str, str]) -> None:
    """Add a saved table, so a fresh process need not stem the corpus's words again."""
    room = TERM_CACHE_SIZE - len(_TERMS)
    if room > 0:
        _TERMS.update(table if len(table) <= room else dict(list(table.items())[:room]))


def term_spans(text: str) -> list[tuple[str, int, int]]:
    """(term, startchar, endchar) for every token: the analyzer's output without Token objects."""
    cache = _spans_filter._cache
    spans = []
    for match in _spans_tokenizer._finditer(text):
        raw = match.group()
        term = cache.get(raw)
        if term is None:
            if len(cache) >= _spans_filter.cachesize:
                cache.clear()
            term = cache[raw] = fold_and_stem(raw)
        start, end = match.span()
        spans.append((term, start, end))
    return spans
