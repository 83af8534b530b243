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
OPERATORS = frozenset({"AND", "OR", "NOT", "TO", "ANDNOT", "ANDMAYBE", "REQUIRE"})
# The ones that combine clauses (TO only joins the ends of a range).
COMBINING = OPERATORS - {"TO"}
# The ones that exclude the clause after them.
NEGATING = frozenset({"NOT", "ANDNOT"})
# An operator as the parser finds it: between spaces or brackets.
_COMBINING_WORD = re.compile(r"(?<![^\s()])(?:" + "|".join(sorted(COMBINING)) + r")(?![^\s()])")
# A filter as typed: source:ap, topic:coffee, date:2017, date:[2017 TO 2018].
FILTER = re.compile(r"(?<!\S)(?:source|topics?|date):(?:\[[^\]]*\]|\{[^}]*\}|[^\s()\[\]{}\"]+)")
# A field's name before its value ("title:", "-source:"): syntax, not text.
_FIELD_NAMES = sorted(
    {*TEXT_FIELDS, *FILTER_FIELDS, *(a for v in FIELD_ALIASES.values() for a in v)}
)
_FIELD = r"(?:" + "|".join(_FIELD_NAMES) + r"):"
_FIELD_NAME = re.compile(r"(?<![^\s(+-])" + _FIELD)
# A sign that excludes (-word) or requires (+word): only at the start of a word, so
# "2017-03" and "e-mail" stay whole and "+/-" or "$99 + tax" are punctuation.
_SIGN_AT = r"(?<![^\s(]){}(?=[\w\"(])"
PLUS, MINUS = _SIGN_AT.format(r"\+"), _SIGN_AT.format("-")
SIGN = re.compile(_SIGN_AT.format("[-+]"))
# A sign that is punctuation in long text: not one before a field ("-source:ap" stays).
_LOOSE_SIGN = re.compile(SIGN.pattern + r"(?!" + _FIELD + ")")
# Signs are read in a query of at most this many words (filters aside); in longer text (a
# pasted headline, request or paragraph) a sign is punctuation, as in "Gaza Camp -Witnesses".
MAX_SIGNED_WORDS = 5
# The word being typed: letters at the very end, after a space or nothing.
LAST_WORD = re.compile(r"(?:^|\s)([^\W\d_]+)$")


def tokens(text: str) -> list[str]:
    """`text` split as the query language reads it: phrases whole, everything else by spaces."""
    return TOKEN.findall(text)


def reads_operators(text: str) -> bool:
    """Whether AND, OR and NOT in `text` are operators: not in text of more than
    MAX_SIGNED_WORDS words whose words have no lower-case letter (filters and field
    names aside). Such text (a headline or a request copied from an archive that prints
    capitals) has them as words: "ANALYSIS AND DESIGN OF FILTERS IN RADAR" is searched
    as the words it says, as "Analysis and design of filters in radar" is, and so is
    "OPEC NOT TO CUT OUTPUT, MINISTER SAYS topic:crude". A query typed in capitals
    ("USA NOT NATO") keeps its operators, as it keeps its signs.
    """
    if reads_signs(text):
        return True
    words = _FIELD_NAME.sub(" ", FILTER.sub(" ", text))
    return any(_is_lower(char) for char in words)


def _is_lower(char: str) -> bool:
    # A letter with a capital of its own: not "ß" (capitalised "SS"), "ª", "º" or the
    # micro sign of a unit ("10µG").
    if not char.islower() or char == "µ":
        return False
    upper = char.upper()
    return len(upper) == 1 and upper != char


def combining_operators(text: str) -> set[str]:
    """The operators in `text` that combine clauses (AND, OR, NOT, ...), as they are read."""
    if not reads_operators(text):
        return set()
    return set(_COMBINING_WORD.findall(text))


def operators_as_words(text: str) -> str:
    """`text` with its combining operators in lower case when it does not read them."""
    if reads_operators(text):
        return text
    return _COMBINING_WORD.sub(lambda found: found.group(0).lower(), text)


def reads_signs(text: str) -> bool:
    """Whether -word and +word in `text` exclude and require: in a query of at most
    MAX_SIGNED_WORDS words, not counting filters (source:, topic:, date:)."""
    return len(tokens(FILTER.sub(" ", text))) <= MAX_SIGNED_WORDS


def as_read(text: str) -> str:
    """`text` with what it does not read as operators in lower case (see reads_operators)
    and, past MAX_SIGNED_WORDS words, without the signs of its words (see reads_signs)."""
    text = operators_as_words(text)
    return text if reads_signs(text) else _LOOSE_SIGN.sub("", text)


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
