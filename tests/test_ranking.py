"""The scoring model: BM25F words, the IDF, adaptive lead credit, coordination, proximity."""

from __future__ import annotations

import json
import math

import pytest
from whoosh import query as Q
from whoosh.filedb.filestore import RamStorage

from searchsvc.config import load_config
from searchsvc.engine.embedded import ranking
from searchsvc.engine.embedded.ranking import (
    Coordinated,
    NewsWeighting,
    RankingSettings,
    Word,
    body_words,
    field_lengths,
    proximity_clauses,
    read_field_lengths,
)
from searchsvc.engine.embedded.state import GenerationState
from searchsvc.index.schema import article_schema

FILLER = " ".join(f"filler{n}" for n in range(40))
BODIES = {
    # The same words, equally often, in texts of the same length: only where differs.
    "early": f"strike halts trains. {FILLER}",
    "late": f"{FILLER} strike halts trains.",
    "one-word": f"strike {FILLER} other words",
    "neither": f"{FILLER} nothing relevant",
}


@pytest.fixture
def index():
    ix = RamStorage().create_index(article_schema())
    with ix.writer() as writer:
        for doc_id, body in BODIES.items():
            writer.add_document(id=doc_id, title="", body=body, record="{}")
    return ix


PLAIN = RankingSettings(lead_words=0, lead_weight=0.0)


def ranked(index, query, settings, limit=10):
    with index.searcher(weighting=NewsWeighting(settings)) as searcher:
        return [(hit["id"], hit.score) for hit in searcher.search(query, limit=limit)]


@pytest.fixture
def leads_restate(monkeypatch):
    """The test articles are too short to measure: say that leads restate them fully."""
    monkeypatch.setattr(ranking, "lead_share", lambda searcher, words: 1.0)


def test_lead_credit_ranks_the_article_that_opens_with_the_words_first(index, leads_restate):
    query = Q.Or([Q.Term("body", "strike"), Q.Term("body", "halt")])
    plain = dict(ranked(index, query, PLAIN))
    assert plain["early"] == pytest.approx(plain["late"])
    with_lead = ranked(index, query, RankingSettings(lead_words=10, lead_weight=0.5))
    scores = dict(with_lead)
    assert with_lead[0][0] == "early"
    assert scores["early"] > plain["early"]
    assert scores["late"] == pytest.approx(plain["late"])


def test_lead_credit_keeps_pruned_results_exact(index, leads_restate):
    settings = RankingSettings(lead_words=10, lead_weight=0.5)
    query = Q.Or([Q.Term("body", "strike"), Q.Term("body", "train")])
    full = ranked(index, query, settings, limit=None)
    assert ranked(index, query, settings, limit=1) == full[:1]


def test_coordination_scales_by_the_share_of_words_matched(index):
    words = [Q.Term("body", "strike"), Q.Term("body", "train")]
    plain = dict(ranked(index, Q.Or(words), PLAIN))
    coordinated = dict(ranked(index, Coordinated(words, exponent=2.0), PLAIN))
    assert coordinated["early"] == pytest.approx(plain["early"])  # both words: factor 1
    assert coordinated["one-word"] == pytest.approx(plain["one-word"] * 0.5**2)
    assert "neither" not in coordinated


def test_coordinated_scores_do_not_depend_on_limit_or_filters(index):
    words = [Q.Term("body", "strike"), Q.Term("body", "train"), Q.Term("body", "halt")]
    query = Coordinated(words, exponent=1.0)
    full = ranked(index, query, PLAIN, limit=None)
    assert ranked(index, query, PLAIN, limit=1) == full[:1]
    # Under a filter the intersection asks for max_quality(): it must not raise.
    filtered = Q.And([query, Q.Term("id", "late")])
    assert [doc_id for doc_id, _ in ranked(index, filtered, PLAIN)] == ["late"]


def test_coordinated_normalises_to_its_only_clause_and_keeps_its_exponent():
    term = Q.Term("body", "strike")
    assert Coordinated([term], exponent=2.0).normalize() == term
    two = Coordinated([term, Q.Term("body", "train")], exponent=2.0).normalize()
    assert isinstance(two, Coordinated) and two.exponent == 2.0
    assert two != Coordinated(list(two.subqueries), exponent=1.0)


def test_proximity_clauses_pair_neighbouring_words_once():
    clauses = proximity_clauses(["oil", "price", "oil", "price"], boost=0.2, slop=4)
    assert [tuple(c.words) for c in clauses] == [("oil", "price"), ("price", "oil")]
    assert all(c.slop == 4 and c.boost == 0.2 and c.fieldname == "body" for c in clauses)
    assert proximity_clauses(["oil"], boost=0.2, slop=4) == []


def test_body_words_skips_phrases_and_keeps_order():
    clauses = [
        Q.Term("title", "oil"),
        Q.Term("body", "oil"),
        Q.Phrase("body", ["crude", "price"]),
        Q.Term("body", "opec"),
    ]
    assert body_words(clauses) == ["oil", "opec"]


def test_field_lengths_read_at_once_are_the_lengths_whoosh_decodes():
    ix = RamStorage().create_index(article_schema())
    with ix.writer() as writer:
        for n in range(300):  # empty texts and lengths past the one-byte exact range
            body = " ".join(["word"] * (n * 37 % 5000))
            writer.add_document(id=str(n), title="" if n % 3 else "A title", body=body, record="{}")
    with ix.reader() as reader:
        for field in ("title", "body"):
            assert ranking._length_bytes(reader, field) is not None  # not the per-document loop
            decoded = [reader.doc_field_length(d, field, 1) or 1 for d in range(300)]
            assert read_field_lengths(reader, field) == decoded
            assert field_lengths(GenerationState(), reader, field) == decoded
            assert len(set(decoded)) > (1 if field == "title" else 50)


def test_ranking_defaults_are_the_configured_defaults():
    assert RankingSettings.from_config(load_config(environ={})) == RankingSettings()


def test_ranking_settings_come_from_config_and_environment():
    config = load_config(environ={"SEARCHSVC_RANK_LEAD_WORDS": "12", "SEARCHSVC_RANK_K1": "0.9"})
    settings = RankingSettings.from_config(config)
    assert settings.lead_words == 12
    assert settings.k1 == 0.9
    with pytest.raises(ValueError, match="rank_lead_weight"):
        load_config(environ={"SEARCHSVC_RANK_LEAD_WEIGHT": "-1"})


def _article(number: int, paragraphs: list[str]) -> dict:
    record = json.dumps({"id": str(number), "paragraphs": paragraphs})
    return {"id": str(number), "title": "", "body": "\n\n".join(paragraphs), "record": record}


def _words(prefix: str, count: int) -> str:
    return " ".join(f"{prefix}{n}" for n in range(count))


@pytest.mark.parametrize(
    ("style", "share"),
    [
        # Wire style: the lead's words recur in the rest of the article, the next ones do not.
        ("wire", 1.0),
        # Chatty openings: the lead recurs no more than the words after it.
        ("blog", 0.0),
        # Articles too short to tell a lead from what follows it.
        ("short", 0.0),
    ],
)
def test_lead_share_measures_how_much_leads_restate_their_articles(style, share):
    ix = RamStorage().create_index(article_schema())
    with ix.writer() as writer:
        for n in range(40):
            lead, after = _words(f"lead{n}x", 30), _words(f"next{n}x", 30)
            if style == "wire":
                rest = f"{lead} {_words(f'rest{n}x', 30)}"
            elif style == "blog":
                rest = f"{_words(f'lead{n}x', 10)} {_words(f'next{n}x', 10)} {_words('r', 40)}"
            else:
                lead, after, rest = "a short", "news item", "here"
            writer.add_document(**_article(n, [lead, after, rest]))
    with ix.searcher() as searcher:
        assert ranking.lead_share(searcher, 30) == pytest.approx(share)


def _word_index():
    ix = RamStorage().create_index(article_schema())
    docs = {
        "both": ("Strike news", f"strike {FILLER}"),
        "title": ("Strike news", f"other {FILLER}"),
        "body": ("Other news", f"strike strike {FILLER}"),
        "none": ("Other news", FILLER),
    }
    with ix.writer() as writer:
        for doc_id, (title, body) in docs.items():
            writer.add_document(id=doc_id, title=title, body=body, record="{}")
    return ix


def test_a_word_in_headline_and_text_saturates_once_with_the_lucene_idf():
    ix = _word_index()
    word = Word([Q.Term("title", "strike"), Q.Term("body", "strike")], weights=(2.0, 1.0))
    scores = dict(ranked(ix, word, PLAIN))
    assert set(scores) == {"both", "title", "body"}
    # BM25F: one saturation over both fields, so less than the two fields' scores added.
    fields = dict(ranked(ix, Q.Or([Q.Term("title", "strike", boost=2.0),
                                   Q.Term("body", "strike")]), PLAIN))  # fmt: skip
    assert scores["both"] < fields["both"]
    assert scores["both"] > max(scores["title"], scores["body"])
    # IDF from the larger field's document frequency (2 of 4 articles in each), Lucene's:
    # log(1 + (4 - 2 + 0.5) / (2 + 0.5)) = log 2; a score is at most IDF x (K1 + 1).
    top = math.log(2) * (PLAIN.k1 + 1)
    assert all(top / 2 < score < top for score in scores.values())
    doubled = dict(ranked(ix, word.with_boost(2.0), PLAIN))
    assert doubled["both"] == pytest.approx(2 * scores["both"])


def test_word_normalises_to_itself_and_compares_its_weights():
    terms = [Q.Term("title", "oil"), Q.Term("body", "oil")]
    word = Word(terms, weights=(2.0, 1.0))
    assert word.normalize() is word and word.text == "oil"
    assert word != Word(terms, weights=(3.0, 1.0))
    assert Q.Or([word, Word(terms, weights=(2.0, 1.0))]).normalize() == word
    assert [leaf.fieldname for leaf in word.leaves()] == ["title", "body"]
