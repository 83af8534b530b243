"""The query language's words, written once: how text typed in the box splits into tokens.

Parsing (engine/embedded/querying.py), limits (params.py), spelling, typo
tolerance, completion and the UI all split a query with these; the grammar is
in docs/query-language.md.
"""

from __future__ import annotations

import re
import unicodedata

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Limits of the language itself, the same for every engine (docs/limits.md).
MAX_EXPANSIONS = 3  # wildcards and word ranges; further ones are plain words
MIN_WILDCARD_PREFIX = 2  # characters before the first *; with fewer, * is punctuation
# A quoted phrase (its closing quote may be missing), or a run of non-spaces.
TOKEN = re.compile(r'"[^"]*"?|\S+')
# The operators, in capitals, that are not words to search, correct or complete.
OPERATORS = frozenset({"AND", "OR", "NOT", "TO", "ANDNOT", "ANDMAYBE"})


def tokens(text: str) -> list[str]:
    """`text` split as the query language reads it: phrases whole, everything else by spaces."""
    return TOKEN.findall(text)


def normalise(text: str) -> str:
    """NFC, control characters as spaces, runs of white space as one space."""
    text = unicodedata.normalize("NFC", text)
    return " ".join(CONTROL.sub(" ", text).split())
