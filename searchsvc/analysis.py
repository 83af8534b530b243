"""Text analysis: NLTK tokenizing and Snowball stemming as picklable Whoosh pieces.

Whoosh pickles the analyzer into the index, so everything here lives at this
import path for good: renaming the module or a class breaks existing indexes.
The same analyzer runs at index time and at query time.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from nltk.stem.snowball import SnowballStemmer
from nltk.tokenize import RegexpTokenizer
from whoosh.analysis import (
    CharsetFilter,
    Filter,
    LowercaseFilter,
    StemFilter,
    Token,
    Tokenizer,
)
from whoosh.support.charset import accent_map

# Words, numbers, and words joined by an apostrophe or an inner period
# ("o'neill", "u.s", "3.5"); hyphenated words are split into their parts.
TOKEN_PATTERN = r"\w+(?:['’.]\w+)*"

_snowball = SnowballStemmer("english")

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
    return _snowball.stem(word)


class NltkTokenizer(Tokenizer):
    """Splits text with NLTK's RegexpTokenizer, keeping positions and character spans."""

    def __init__(self, pattern: str = TOKEN_PATTERN):
        self.pattern = pattern
        self._tokenizer = RegexpTokenizer(pattern)

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
        spans = self._tokenizer.span_tokenize(value) if tokenize else [(0, len(value))]
        for pos, (start, end) in enumerate(spans):
            token.text = value[start:end]
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = token.text
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


class NormalizeFilter(Filter):
    """Unicode NFKC form and straight apostrophes, so variants of a word meet."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            text = token.text
            if not text.isascii():
                text = unicodedata.normalize("NFKC", text).replace("’", "'")
            token.text = text
            yield token


def news_analyzer():
    """The one analyzer for every text field: NLTK tokens, folded case and accents, stems."""
    return (
        NltkTokenizer()
        | NormalizeFilter()
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StemFilter(stemfn=snowball_stem, cachesize=100_000)
    )


_STOP_STEMS: frozenset[str] | None = None


def stop_stems() -> frozenset[str]:
    """The stop words as the analyzer indexes them."""
    global _STOP_STEMS
    if _STOP_STEMS is None:
        analyzer = news_analyzer()
        _STOP_STEMS = frozenset(t.text for w in STOP_WORDS for t in analyzer(w))
    return _STOP_STEMS
