"""Did you mean: the query with its misspelled words corrected from the archive's vocabulary.

A word counts as misspelled only when neither the archive nor wordfreq's English
list (shipped inside the package: nothing is downloaded) knows it. It is then
replaced only by a more frequent archive word, in the user's casing; every other
character stays as typed. The thresholds were chosen on the tune half of
../shared/eval with benchmarks/spelling.py.
"""

from __future__ import annotations

import re
import unicodedata
from os.path import commonprefix

from searchsvc.text.analysis import STOP_WORDS, fold_and_stem
from searchsvc.text.querylang import OPERATORS, TOKEN, reads_signs
from searchsvc.text.vocabulary import (
    MAX_CORRECTED_WORDS,
    MAX_WORD,
    MIN_SUGGESTED_COUNT,
    Vocabulary,
    _deletes,
    _deletes2,
    edit_distance,
)

LANGUAGE = "en"  # wordfreq's list for the archive's language
# wordfreq's Zipf scale is log10 of uses per billion words: 3 is once per million words.
# A word that common is a word; below it are rare words and the misspellings people make.
KNOWN_ZIPF = 3.0
# A listed word below KNOWN_ZIPF ("recieve" 2.8, "laud" 2.6) gives way only to a word one
# edit away with the same first letter, this much higher on the scale: 100 times as common.
RARE_WORD_MARGIN = 2.0
# A word of four letters or more (shorter ones are left alone), and the marks around it.
_WORD = re.compile(rf"(\W*)([^\W\d_]{{4,{MAX_WORD}}})(\W*)")


def suggest_query(text: str, vocabulary: Vocabulary) -> str | None:
    """`text` with its misspelled words corrected, or None when none is.

    Phrases, field:value terms, operators, wildcards and exclusions are left as
    typed, and so is every character but the letters of a corrected word.
    """
    pieces, copied, looked_up = [], 0, 0
    syntax = '"-+' if reads_signs(text) else '"'  # in long text a sign is punctuation
    for token in TOKEN.finditer(text):
        typed = token.group(0)
        word = _WORD.fullmatch(typed)
        if not word or typed in OPERATORS or typed[0] in syntax or ":" in typed or "*" in typed:
            continue
        if known(word.group(2), vocabulary):
            continue
        if looked_up == MAX_CORRECTED_WORDS:  # each look-up probes the correction index
            break
        looked_up += 1
        fixed = correction(word.group(2), vocabulary)
        if fixed is not None:
            fixed = in_casing_of(fixed, word.group(2))
        if fixed is not None and fixed not in OPERATORS:  # "NOTT" is not to become NOT
            start = token.start() + word.start(2)
            pieces += [text[copied:start], fixed]
            copied = token.start() + word.end(2)
    return "".join(pieces) + text[copied:] if pieces else None


def known(word: str, vocabulary: Vocabulary) -> bool:
    """Whether `word` is a word: in the archive, a stop word, or common in the language."""
    word = word.lower()
    return word in STOP_WORDS or vocabulary.counts.get(word, 0) > 0 or zipf(word) >= KNOWN_ZIPF


def correction(word: str, vocabulary: Vocabulary) -> str | None:
    """The archive word that `word` (not itself known) was meant to be, or None."""
    word = word.lower()
    candidates = near(word, vocabulary)
    # An inflection of an archive word ("blairs", "colludes") finds that word's articles.
    if any(_inflection(word, candidate) for candidate in candidates):
        return None
    rarity = zipf(word)
    if rarity > 0:  # listed though rare: a rare word, or a misspelling people often make
        candidates = {
            c
            for c in candidates
            if c[0] == word[0]
            and edit_distance(word, c) == 1
            and zipf(c) >= rarity + RARE_WORD_MARGIN
        }
    # Never a rarer word: a candidate is in the archive (MIN_SUGGESTED_COUNT times or more)
    # and, in the language list, at least as common; the nearest wins, then the commonest.
    ranked = sorted((edit_distance(word, c), -vocabulary.counts[c], c) for c in candidates)
    return ranked[0][2] if ranked else None


def near(word: str, vocabulary: Vocabulary) -> set[str]:
    """Archive words (MIN_SUGGESTED_COUNT or more) within 1 edit of `word`, 2 past 5 letters."""
    variants = list({word, *_deletes(word), *_deletes2(word)})
    found = {v for v in variants if vocabulary.counts.get(v, 0) >= MIN_SUGGESTED_COUNT}
    found |= vocabulary._deleted_to(variants)
    limit = 1 if len(word) <= 5 else 2
    return {c for c in found if c != word and edit_distance(word, c) <= limit}


def zipf(word: str) -> float:
    """How common `word` is in the language, on wordfreq's Zipf scale (0 when unlisted)."""
    # Imported on first use: 0.2 s, and its English list takes 37 MB once loaded.
    from wordfreq import zipf_frequency

    return zipf_frequency(word, LANGUAGE)


def _inflection(word: str, candidate: str) -> bool:
    """Same index term, one edit apart, at the end or in an accent: "blairs" and "blair"."""
    if edit_distance(word, candidate) != 1 or fold_and_stem(word) != fold_and_stem(candidate):
        return False
    if _unaccented(word) == _unaccented(candidate):
        return True
    return len(commonprefix([word, candidate])) >= min(len(word), len(candidate)) - 1


def _unaccented(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def in_casing_of(word: str, typed: str) -> str:
    """`word` in the casing of `typed`: UPPER, lower, letter by letter when mixed, else Title."""
    if typed.isupper():
        return word.upper()
    if typed.islower():
        return word.lower()
    if len(typed) == len(word) and not typed[1:].islower():  # "vBSN" -> "vBNS"
        pairs = zip(word, typed, strict=True)
        return "".join(a.upper() if b.isupper() else a.lower() for a, b in pairs)
    return word[:1].upper() + word[1:].lower() if typed[0].isupper() else word.lower()
