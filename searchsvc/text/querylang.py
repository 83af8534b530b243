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
# The fields: words are searched in the text fields unless a field is named; the
# filter fields narrow without ranking. Each alias names the same field.
TEXT_FIELDS = ("title", "body")
FILTER_FIELDS = frozenset({"source", "topic", "date"})
FIELD_ALIASES = {"topic": ("topics",), "title": ("headline",)}

# A quoted phrase (its closing quote may be missing), or a run of non-spaces.
TOKEN = re.compile(r'"[^"]*"?|\S+')
# The operators, in capitals, that are not words to search, correct or complete.
OPERATORS = frozenset({"AND", "OR", "NOT", "TO", "ANDNOT", "ANDMAYBE"})
# The ones that combine clauses (TO only joins the ends of a range).
COMBINING = OPERATORS - {"TO"}
_COMBINING_WORD = re.compile(r"(?<!\S)(?:" + "|".join(sorted(COMBINING)) + r")(?!\S)")
# A filter as typed: source:ap, topic:coffee, date:2017, date:[2017 TO 2018].
FILTER = re.compile(r"(?<!\S)(?:source|topics?|date):(?:\[[^\]]*\]|\{[^}]*\}|[^\s()\[\]{}\"]+)")
# A sign that excludes (-word) or requires (+word): only at the start of a word, so
# "2017-03" and "e-mail" stay whole and "+/-" or "$99 + tax" are punctuation.
_SIGN_AT = r"(?<![^\s(]){}(?=[\w\"(])"
PLUS, MINUS = _SIGN_AT.format(r"\+"), _SIGN_AT.format("-")
SIGN = re.compile(_SIGN_AT.format("[-+]"))
# Signs are read in a query of at most this many words (filters aside); in longer text (a
# pasted headline, request or paragraph) a sign is punctuation, as in "Gaza Camp -Witnesses".
MAX_SIGNED_WORDS = 5
# The word being typed: letters at the very end, after a space or nothing.
LAST_WORD = re.compile(r"(?:^|\s)([^\W\d_]+)$")


def tokens(text: str) -> list[str]:
    """`text` split as the query language reads it: phrases whole, everything else by spaces."""
    return TOKEN.findall(text)


def reads_operators(text: str) -> bool:
    """Whether AND, OR and NOT in `text` are operators: not when it has no lower-case
    letter. Text all in capitals (a headline or a request copied from an archive that
    prints them so) has them as words: "ANALYSIS AND DESIGN OF FILTERS" is searched
    as the words it says, as "Analysis and design of filters" is.
    """
    return any(char.islower() for char in text)


def combining_operators(text: str) -> set[str]:
    """The operators in `text` that combine clauses (AND, OR, NOT, ...), as they are read."""
    if not reads_operators(text):
        return set()
    return COMBINING.intersection(tokens(text))


def operators_as_words(text: str) -> str:
    """`text` with its combining operators in lower case when it does not read them."""
    if reads_operators(text):
        return text
    return _COMBINING_WORD.sub(lambda found: found.group(0).lower(), text)


def reads_signs(text: str) -> bool:
    """Whether -word and +word in `text` exclude and require: in a query of at most
    MAX_SIGNED_WORDS words, not counting filters (source:, topic:, date:)."""
    words = [token for token in tokens(text) if not FILTER.fullmatch(token)]
    return len(words) <= MAX_SIGNED_WORDS


def as_read(text: str) -> str:
    """`text` with what it does not read as operators in lower case (see reads_operators)
    and, past MAX_SIGNED_WORDS words, without its signs (see reads_signs)."""
    text = operators_as_words(text)
    return text if reads_signs(text) else SIGN.sub("", text)


def topics_in(text: str) -> set[str]:
    """The topics `text` filters on (topic:x or topics:x), lower-cased."""
    found = re.findall(r"(?:^|\s)topics?:(\S+)", text or "", re.IGNORECASE)
    return {topic.lower() for topic in found}


def without_topic(text: str, topic: str) -> str:
    """`text` without its filters on `topic`."""
    pattern = re.compile(r"(^|\s)topics?:" + re.escape(topic) + r"(?=\s|$)", re.IGNORECASE)
    return " ".join(pattern.sub(" ", text).split())


def normalise(text: str) -> str:
    """NFC, control characters as spaces, runs of white space as one space."""
    text = unicodedata.normalize("NFC", text)
    return " ".join(CONTROL.sub(" ", text).split())
