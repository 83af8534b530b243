"""The scoring model: lead credit, coordination and proximity, on an in-memory index."""

from __future__ import annotations

import pytest
from whoosh import query as Q
from whoosh.filedb.filestore import RamStorage

from searchsvc import ranking
from searchsvc.config import load_config
from searchsvc.ranking import (
    Coordinated,
    NewsWeighting,
    RankingSettings,
    body_words,
    field_lengths,
    proximity_clauses,
)
from searchsvc.schema import article_schema

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


def test_lead_credit_ranks_the_article_that_opens_with_the_words_first(index):
    query = Q.Or([Q.Term("body", "strike"), Q.Term("body", "halt")])
    plain = dict(ranked(index, query, PLAIN))
    assert plain["early"] == pytest.approx(plain["late"])
    with_lead = ranked(index, query, RankingSettings(lead_words=10, lead_weight=0.5))
    scores = dict(with_lead)
    assert with_lead[0][0] == "early"
    assert scores["early"] > plain["early"]
    assert scores["late"] == pytest.approx(plain["late"])


def test_lead_credit_keeps_pruned_results_exact(index):
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
            assert field_lengths(reader, field) == decoded
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
