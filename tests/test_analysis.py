"""The analyzer: NLTK tokens and Snowball stems, the same at index and query time."""

from __future__ import annotations

import pickle

import pytest
from whoosh import fields

from searchsvc.text.analysis import news_analyzer, stop_stems


def terms(text: str, **kwargs) -> list[str]:
    return [t.text for t in news_analyzer()(text, **kwargs)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Stabbed STABBING stabs", ["stab", "stab", "stab"]),
        ("Café CAFE cafés", ["cafe", "cafe", "cafe"]),
        ("O’Neill's shares rose 3.5%", ["o'neil", "share", "rose", "3.5"]),
        ("e-mail well-known", ["e", "mail", "well", "known"]),
        ("ﬁnance", ["financ"]),  # NFKC folds the ligature
        ("", []),
        ("!!! ...", []),
    ],
)
def test_tokens_and_stems(text, expected):
    assert terms(text) == expected


def test_positions_and_character_spans():
    tokens = [(t.text, t.pos, t.startchar, t.endchar)
              for t in news_analyzer()("Police said", positions=True, chars=True)]  # fmt: skip
    assert tokens == [("polic", 0, 0, 6), ("said", 1, 7, 11)]


def test_query_and_index_analysis_agree():
    assert terms("Parliament", mode="query") == terms("parliaments", mode="index")


def test_pickle_round_trip_inside_a_schema():
    schema = fields.Schema(text=fields.TEXT(analyzer=news_analyzer()))
    restored = pickle.loads(pickle.dumps(schema))
    assert [t.text for t in restored["text"].analyzer("Stabbed police")] == ["stab", "polic"]
    assert pickle.loads(pickle.dumps(news_analyzer())) == news_analyzer()


def test_stop_words_are_stemmed_like_the_index():
    stops = stop_stems()
    assert {"the", "what", "did"} <= stops
    assert "polic" not in stops
