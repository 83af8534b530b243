"""Did you mean: only misspelled words change, to more frequent ones, in the user's casing."""

from __future__ import annotations

import re
import sys
from itertools import islice
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wordfreq import iter_wordlist

from searchsvc.discovery import spelling
from searchsvc.discovery.spelling import in_casing_of, known, suggest_query, zipf
from searchsvc.text.vocabulary import Vocabulary, edit_distance

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/ is not installed
from benchmarks.spelling import misspell  # noqa: E402

# Frequent archive words one letter from English words the archive lacks (fond, farewell,
# funny), as in Reuters, where the old rules made "A bond farrell" of a headline; and from
# English words just above the known threshold, each a hundred times rarer than its neighbour.
RARE_NEIGHBOURS = "abound abort calmed looming pints ploy skates slaying taping".split()
ARCHIVE = Vocabulary.from_texts(
    [
        "bond farrell review show fund funds parliament government policy police officer "
        "blair debuts land receive cocoa prices oil oils cannot seize zanzibar "
        "around about called looking points play states saying taking insects freeze"
    ]
    * 40
    + ["goverment"]  # once: this archive's own word, whatever the list says
)
LETTERS = re.compile(r"[^\W\d_]")
# Words either list knows: the archive's, and English ones at the known threshold and up.
ENGLISH = [
    word
    for word in islice(iter_wordlist(spelling.LANGUAGE), 60_000)
    if re.fullmatch(r"[a-z]{4,}", word) and zipf(word) >= spelling.KNOWN_ZIPF
]
WORDS = sorted(ARCHIVE.counts) + RARE_NEIGHBOURS + ENGLISH[:2_000] + ENGLISH[-2_000:]


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("A Fond Farewell To 'Review,' The Funniest Show", None),  # English the archive lacks
        ("Perils abound as skates, looming, calmed", None),  # rare, but common enough
        ("parliment", "parliament"),
        ("Parlaiment!", "Parliament!"),
        ("PARLIMENT POLICY", "PARLIAMENT POLICY"),
        ("'Parliment,' he said", "'Parliament,' he said"),
        ("parliment\tpolicy", "parliament\tpolicy"),  # every character but the word's letters
        ("recieve", "receive"),  # a misspelling the list knows, a hundred times rarer
        ("goverment policy", None),  # the archive's own word
        ("blairs", None),  # an inflection: its stem finds "blair" already
        ("rebuts", None),  # a rare English word does not become another ("debuts")
        ("infects frieze", None),  # nor one less than a hundred times as common
        ("zanzibsr", "zanzibar"),
        ("cocao prices", "cocoa prices"),
        ("oill", "oil"),  # equally near and common: the first in order
        ("police officer", None),
        ('"parliment house"', None),  # phrases, exclusions, fields, wildcards: as typed
        ("-parliment", None),
        ("tanks surge into a gaza camp -parliment", "tanks surge into a gaza camp -parliament"),
        ("title:parliment", None),
        ("parlim*", None),
        ("source:reuterz parliment", "source:reuterz parliament"),
        ("zzzzqqq", None),  # nothing near: no suggestion rather than a wild guess
        ("", None),
    ],
)
def test_suggest_query(typed, expected):
    assert suggest_query(typed, ARCHIVE) == expected


@pytest.mark.parametrize("operator", ["AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"])
def test_operators_are_not_corrected_as_words(operator):
    vocabulary = Vocabulary.from_texts(["cannot random andmany ornot"] * 60)
    assert suggest_query(f"oil {operator} cannt", vocabulary) == f"oil {operator} cannot"


@pytest.mark.parametrize("typed", ["wheat NOTT barley", "wheat ANDD barley", "wheat Orr barley"])
def test_no_suggestion_makes_an_operator(typed):
    # "wheat NOT barley" would search something else than what was typed.
    vocabulary = Vocabulary.from_texts(["wheat barley not and or"] * 60)
    assert suggest_query(typed, vocabulary) in (None, typed.replace("Orr", "Or"))


@pytest.mark.parametrize(
    "word, typed, expected",
    [
        ("parliament", "parliment", "parliament"),
        ("parliament", "PARLIMENT", "PARLIAMENT"),
        ("parliament", "Parliment", "Parliament"),
        ("vbns", "vBSN", "vBNS"),  # mixed: letter by letter
        ("mcdonald", "McDonlad", "McDonald"),
        ("the", "GThe", "The"),  # mixed, and a letter longer: Title
        ("ipod", "iPood", "ipod"),
    ],
)
def test_in_casing_of(word, typed, expected):
    assert in_casing_of(word, typed) == expected


def test_only_unknown_words_are_looked_up_and_only_the_first_few(monkeypatch):
    looked_up = []
    monkeypatch.setattr(spelling, "correction", lambda word, vocabulary: looked_up.append(word))
    unknown = [f"parliment{a}{b}" for a in "xyz" for b in "abcdefghijklmnopqrstuvwxyz"]
    suggest_query("police " * 50 + " ".join(unknown), ARCHIVE)
    assert looked_up == unknown[: spelling.MAX_CORRECTED_WORDS]


def test_long_words_are_not_corrected_quickly():
    import time

    started = time.perf_counter()
    assert suggest_query("parliament" * 100 + " x" * 400, ARCHIVE) is None
    assert time.perf_counter() - started < 0.5


casings = st.sampled_from([str.lower, str.upper, str.title])
before = st.sampled_from(["", "'", "(", "¿", "“"])
after = st.sampled_from(["", ",", "?", "!", ".", "'", ")", ",'", "”", '?"'])


@st.composite
def dressed(draw, word: str) -> str:
    """`word` as typed in a headline: any casing, marks before and after."""
    return draw(before) + draw(casings)(word) + draw(after)


@st.composite
def slipped(draw, word: str) -> str:
    """`word`, or `word` with one letter deleted, inserted, swapped or replaced."""
    if draw(st.booleans()):
        return word
    at = draw(st.integers(0, len(word) - 1))
    letter = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz"))
    return draw(
        st.sampled_from(
            [
                word[:at] + word[at + 1 :],
                word[:at] + letter + word[at:],
                word[:at] + word[at + 1 : at + 2] + word[at : at + 1] + word[at + 2 :],
                word[:at] + letter + word[at + 1 :],
            ]
        )
    )


@given(st.lists(st.sampled_from(WORDS).flatmap(dressed), min_size=1, max_size=12), st.data())
@settings(max_examples=300, deadline=None, database=None)
def test_words_spelled_right_are_never_changed(words, data):
    text = "".join(word + data.draw(st.sampled_from([" ", "  ", "\t", " \n "])) for word in words)
    assert suggest_query(text.strip(), ARCHIVE) is None


@given(st.lists(st.sampled_from(WORDS).flatmap(slipped).flatmap(dressed), min_size=1, max_size=8))
@settings(max_examples=300, deadline=None, database=None)
def test_only_unknown_words_change_to_more_frequent_ones_in_their_casing(typed):
    suggestion = suggest_query(" ".join(typed), ARCHIVE)
    if suggestion is None:
        return
    assert suggestion != " ".join(typed)
    for was, now in zip(typed, suggestion.split(" "), strict=True):
        if was == now:
            continue
        assert LETTERS.sub("", was) == LETTERS.sub("", now)  # marks around the word kept
        word, fix = "".join(LETTERS.findall(was)), "".join(LETTERS.findall(now))
        assert not known(word, ARCHIVE)
        assert fix == in_casing_of(fix, word)
        assert ARCHIVE.counts[fix.lower()] > ARCHIVE.counts.get(word.lower(), 0)
        assert zipf(fix.lower()) >= zipf(word.lower())


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None, database=None)
def test_any_text_gets_another_text_or_none(text):
    suggestion = suggest_query(text, ARCHIVE)
    assert suggestion is None or (isinstance(suggestion, str) and suggestion != text)


@given(st.lists(st.sampled_from(WORDS).flatmap(dressed), min_size=1, max_size=12), st.text())
@settings(max_examples=200, deadline=None, database=None)
def test_the_benchmark_slip_is_one_edit_in_one_plain_word(words, key):
    text = " ".join(words)
    typo = misspell(text, key)
    assert typo == misspell(text, key)  # seeded by the key: the same slip every run
    if typo is None:  # no plain word of four letters, outside quotes
        quotes = 0
        for word in words:
            assert quotes % 2 or '"' in word or not re.fullmatch(r"\W*[A-Za-z]{4,}\W*", word)
            quotes += word.count('"')
        return
    pairs = zip(text.split(" "), typo.typed.split(" "), strict=True)
    assert [i for i, (a, b) in enumerate(pairs) if a != b] == [typo.position]
    assert edit_distance(typo.word.lower(), typo.slip.lower()) == 1
    assert typo.slip[0] == typo.word[0]  # first letters are rarely mistyped
    assert typo.slip.isupper() == typo.word.isupper()
