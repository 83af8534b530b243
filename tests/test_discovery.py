"""Suggestions, typo tolerance, facets, related articles and completions."""

from __future__ import annotations

import pytest
from conftest import write_corpus
from discovery_corpus import SOURCES, build_discovery_index, discovery_records
from hypothesis import given, settings
from hypothesis import strategies as st

from searchsvc import create_app
from searchsvc.engine.embedded.facets import date_buckets
from searchsvc.engine.embedded.snapshot import IndexHandle
from searchsvc.index.indexer import reindex
from searchsvc.text.vocabulary import Vocabulary, edit_distance


@pytest.mark.parametrize(
    "a, b, distance",
    [("", "", 0), ("kitten", "sitting", 3), ("parliment", "parliament", 1), ("ab", "ba", 1)],
)
def test_edit_distance(a, b, distance):
    assert edit_distance(a, b) == distance


VOCAB = Vocabulary.from_texts(
    ["parliament government policy police officer"] * 60 + ["goverment typo"] + ["oil oils"] * 2
)


def test_completions_most_frequent_first():
    assert VOCAB.completions("po") == ["police", "policy"]
    assert VOCAB.completions("p")[:1] == []  # one letter is too little to complete


def test_date_buckets_choose_interval_by_span():
    from datetime import date

    assert date_buckets([])["interval"] is None
    days = date_buckets([date(1987, 3, 1), date(1987, 3, 3)])
    assert days["interval"] == "day" and [b["count"] for b in days["buckets"]] == [1, 0, 1]
    months = date_buckets([date(1987, 1, 5), date(1987, 12, 5)])
    assert months["interval"] == "month" and len(months["buckets"]) == 12
    assert months["buckets"][1] == {
        "value": "1987-02",
        "since": "1987-02-01",
        "until": "1987-02-28",
        "count": 0,
    }
    years = date_buckets([date(1987, 1, 1), date(2017, 1, 1)])
    assert years["interval"] == "year" and len(years["buckets"]) == 31
    decades = date_buckets([date(1, 1, 1), date(9999, 12, 31)])
    assert decades["interval"] == "decade" and decades["buckets"][-1]["value"] == "9990s"


def test_api_suggestion_and_facets(discovery_client):
    body = discovery_client.get("/api/search?q=parliment").get_json()
    assert body["total"] > 0 and body["suggestion"] == "parliament"  # found through the correction
    body = discovery_client.get("/api/search?q=oil+prices").get_json()
    assert body["suggestion"] is None
    assert body["total"] == 24
    facets = body["facets"]
    assert {f["value"]: f["count"] for f in facets["source"]} == {
        "reuters": 8,
        "ap": 8,
        "gazette": 8,
    }
    assert {f["label"] for f in facets["source"]} == set(SOURCES)
    assert {f["value"]: f["count"] for f in facets["topic"]} == {"crude": 24, "ship": 12}
    assert facets["date"]["interval"] == "month"
    assert sum(b["count"] for b in facets["date"]["buckets"]) == 24


def test_facets_follow_the_filters(discovery_client):
    body = discovery_client.get("/api/search?q=oil&source=ap&since=1987-06").get_json()
    assert [f["value"] for f in body["facets"]["source"]] == ["ap"]
    buckets = body["facets"]["date"]["buckets"]
    assert all(b["since"] >= "1987-06-01" for b in buckets if b["count"])
    topic = discovery_client.get("/api/search?q=oil+topic:ship").get_json()
    assert topic["total"] == 12
    assert {f["value"]: f["count"] for f in topic["facets"]["topic"]} == {"ship": 12, "crude": 12}


def test_related_in_api(discovery_client):
    body = discovery_client.get("/api/articles/gov-0").get_json()
    related = [item["id"] for item in body["related"]]
    assert related and "gov-0" not in related
    assert set(related[:2]) == {"gov-1", "gov-2"}
    assert all(not r.startswith("oil-") for r in related)
    assert body["related"][0]["url"] == "/articles/" + related[0]


def test_complete_endpoint(discovery_client):
    body = discovery_client.get("/api/complete?q=parl").get_json()
    assert body["words"][0] == "parliament"
    titles = [h["title"] for h in body["headlines"]]
    # Headline matches first, then articles with the word in their text.
    assert all("parliament" in t.lower() for t in titles[:3]) and len(titles) <= 5
    body = discovery_client.get("/api/complete?q=government+pol").get_json()
    assert body["words"][0] == "government policy"
    assert any("policy" in h["title"].lower() for h in body["headlines"])
    assert discovery_client.get("/api/complete?q=").get_json() == {
        "query": "",
        "words": [],
        "headlines": [],
    }
    too_long = discovery_client.get("/api/complete?q=" + "a" * 201)
    assert too_long.status_code == 400
    assert too_long.get_json()["error"]["code"] == "query_too_long"


@pytest.fixture
def snapshot_(tmp_path):
    from searchsvc.engine.embedded.snapshot import IndexHandle

    _, index = build_discovery_index(tmp_path)
    return IndexHandle(index).snapshot()


def _search(snapshot, text, tolerant=True):
    from searchsvc.engine.embedded.querying import parse
    from searchsvc.engine.embedded.typos import tolerant_clauses, vocabulary_for, widen

    searcher, _ = snapshot.searchers()
    query = parse(text, snapshot.parser, searcher.reader()).article_query
    if tolerant:
        query = widen(query, tolerant_clauses(text, searcher, vocabulary_for(searcher)))
    return {hit["id"]: hit.score for hit in searcher.search(query, limit=None)}


def test_typo_tolerance_finds_and_ranks_below_exact(snapshot_):
    assert _search(snapshot_, "parliment", tolerant=False) == {}
    typo = _search(snapshot_, "parliment")
    exact = _search(snapshot_, "parliament")
    assert set(typo) == set(exact) and len(exact) == 4
    assert all(typo[doc] < exact[doc] for doc in exact)
    # A rare word typed right outranks a correction of a commoner one.
    mixed = list(_search(snapshot_, "tickets parliment"))
    assert mixed[0] == "gov-3" and {"gov-0", "gov-1", "gov-2"} <= set(mixed)


def test_last_word_as_prefix_and_filters_kept(snapshot_):
    found = _search(snapshot_, "petrol")  # petroleum, in the oil articles' text
    assert len(found) == 24 and _search(snapshot_, "petrol", tolerant=False) == {}
    assert set(_search(snapshot_, "petrol source:ap")) == {
        f"oil-{n:02d}" for n in range(24) if n % 3 == 1
    }
    assert _search(snapshot_, "oil AND parliment") == {}  # explicit AND is not widened
    assert _search(snapshot_, "parliment -budget").keys() == {"gov-1", "gov-2", "london"}


def test_facets_and_vocabulary_follow_a_reindex(tmp_path):
    corpus, index = build_discovery_index(tmp_path)
    client = create_app({"index": index, "corpus": [corpus]}).test_client()
    before = client.get("/api/search?q=oil").get_json()["facets"]
    assert {f["value"]: f["count"] for f in before["source"]}["ap"] == 8
    assert client.get("/api/search?q=zanzibar").get_json()["suggestion"] is None
    kept = [r for r in discovery_records() if r["source"] != "AP"]
    kept.append({"id": "new-1", "title": "Zanzibar spice trade", "body": "Zanzibar cloves."})
    write_corpus(corpus, jsonl_records=kept)
    reindex([corpus], index)
    after = client.get("/api/search?q=oil").get_json()["facets"]
    assert "ap" not in {f["value"] for f in after["source"]}
    assert sum(b["count"] for b in after["date"]["buckets"]) == 16
    assert client.get("/api/search?q=zanzibsr").get_json()["suggestion"] == "zanzibar"


def _saved_and_recounted(index):
    from searchsvc.index import store
    from searchsvc.index import words as suggest

    generation = store.current_generation(index)
    articles, paragraphs = generation.open_indexes()
    paragraphs.close()
    with articles.searcher() as searcher:
        recounted = suggest.count_words(searcher.reader())
    return suggest.load_word_counts(generation.path), recounted


def test_word_counts_are_saved_and_kept_exact_through_reindexes(tmp_path):
    """words.json always equals a recount of the stored articles, whatever changed."""
    from searchsvc.index import store
    from searchsvc.index import words as suggest

    corpus, index = build_discovery_index(tmp_path)
    saved, recounted = _saved_and_recounted(index)
    assert saved == +recounted and saved["parliament"] > 0
    kept = [r for r in discovery_records() if r["source"] != "AP"]  # deleted
    kept[0] = {**kept[0], "body": "Zanzibar cloves, zanzibar spice."}  # changed
    kept.append({"id": "new-1", "title": "Zanzibar spice trade", "body": "Cloves."})  # added
    write_corpus(corpus, jsonl_records=kept)
    reindex([corpus], index)
    saved, recounted = _saved_and_recounted(index)
    assert saved == +recounted and saved["zanzibar"] == 3
    # A base saved without counts (an older index): the next run counts them.
    (store.current_generation(index).path / suggest.WORDS_FILE).unlink()
    write_corpus(corpus, jsonl_records=kept[1:])
    reindex([corpus], index)
    saved, recounted = _saved_and_recounted(index)
    assert saved == +recounted and saved["zanzibar"] == 1


def test_saved_word_counts_load_at_once_on_a_large_index(tmp_path, monkeypatch):
    """No background counting (nor a search without suggestions) when the counts are saved."""
    from searchsvc.engine.embedded import typos as suggest

    corpus, index = build_discovery_index(tmp_path)
    monkeypatch.setattr(suggest, "SYNC_BUILD_ARTICLES", 0)  # "large": would build in a thread
    monkeypatch.setattr(suggest, "_build", None)  # and may not read the stored records
    searcher, _ = IndexHandle(index).snapshot().searchers()
    vocabulary = suggest.vocabulary_for(searcher)
    assert vocabulary is not None and vocabulary.correct("parliment") == "parliament"


def _reference_correction(word: str, vocabulary: Vocabulary) -> str | None:
    """Vocabulary.correct() as its docstring defines it, by brute force over every word."""
    from searchsvc.text.vocabulary import (
        MIN_SUGGESTED_COUNT,
        STOP_WORDS,
        WORD,
        _deletes,
        _deletes2,
    )

    word = word.lower()
    if not 4 <= len(word) <= 24 or word in STOP_WORDS or not WORD.fullmatch(word):
        return None
    variants = {word, *_deletes(word), *_deletes2(word)}
    candidates = {v for v in variants if vocabulary.counts.get(v, 0) >= MIN_SUGGESTED_COUNT}
    for known, count in vocabulary.counts.items():
        if len(known) >= 4 and count >= MIN_SUGGESTED_COUNT and _deletes(known) & variants:
            candidates.add(known)
    candidates.discard(word)
    limit = 1 if len(word) <= 5 else 2
    scored = sorted(
        (edit_distance(word, c), -vocabulary.counts[c], c)
        for c in candidates
        if edit_distance(word, c) <= limit
    )
    if not scored:
        return None
    best = scored[0][2]
    seen = vocabulary.counts.get(word, 0)
    return None if seen and vocabulary.counts[best] < max(50 * seen, 20) else best


_letters = st.text("abcdeor", min_size=2, max_size=7)


@given(words=st.lists(_letters, min_size=1, max_size=60), typed=st.lists(_letters, max_size=10))
@settings(max_examples=150, deadline=None, database=None)
def test_the_compact_correction_index_corrects_as_its_definition(words, typed):
    vocabulary = Vocabulary.from_texts([" ".join(words)] * 2 + [" ".join(words[:5])])
    for word in typed + words[:5]:
        assert vocabulary.correct(word) == _reference_correction(word, vocabulary), word


def test_typo_clauses_are_bounded(snapshot_):
    from searchsvc.engine.embedded import typos as suggest

    searcher, _ = snapshot_.searchers()
    vocabulary = suggest.vocabulary_for(searcher)
    text = " ".join(f"parliment{n} zanzibsr goverment polcy" for n in range(60))[:1000] + " parl"
    clauses = suggest.tolerant_clauses(text, searcher, vocabulary)
    assert 0 < len(clauses) <= suggest.MAX_TOLERANT_CLAUSES


@pytest.mark.parametrize(
    "q",
    ["parl", "government pol", " ".join(["government"] * 15) + " pol", "a" * 200,
     "x " * 60 + "parliamen", "p" + "a" * 150],
)  # fmt: skip
def test_completion_work_is_capped(discovery_client, monkeypatch, q):
    from searchsvc.engine.embedded import completion
    from searchsvc.engine.embedded.querying import query_cost

    costs = []
    built = completion.headline_query

    def counted(*args, **kwargs):
        query = built(*args, **kwargs)
        costs.append(query_cost(query))
        return query

    monkeypatch.setattr(completion, "headline_query", counted)
    response = discovery_client.get("/api/complete", query_string={"q": q})
    assert response.status_code == 200
    assert all(c.clauses <= completion.MAX_HEADLINE_CLAUSES and c.expansions == 0 for c in costs)


def test_completion_without_a_vocabulary_takes_the_commonest_terms(snapshot_):
    from searchsvc.engine.embedded import completion as complete

    searcher, _ = snapshot_.searchers()
    reader = searcher.reader()
    query = complete._last_word(reader, "body", "pa", None, searcher.schema["body"].analyzer)
    terms = [leaf.text for leaf in query.leaves()]
    assert 0 < len(terms) <= complete.EXPANDED_PREFIX_TERMS
    assert all(term.startswith(b"pa") for term in terms)


def _generation_state(client):
    """The state of the generation the app's engine serves."""
    return client.application.extensions["searchsvc.engine"].view().state


def test_facet_answers_are_kept_within_their_budget(discovery_client):
    from searchsvc.engine.embedded.state import BoundedCache

    state = _generation_state(discovery_client)
    state.facet_answers = answers = BoundedCache(20_000)
    for n in range(40):
        assert discovery_client.get(f"/api/search?q=parliament+w{n}").status_code == 200
    assert 0 < answers.used <= 20_000 and 0 < len(answers) < 40
    # What is kept is what would be computed again.
    first = discovery_client.get("/api/search?q=parliament+w39").get_json()["facets"]
    state.facet_answers = BoundedCache(20_000)
    assert discovery_client.get("/api/search?q=parliament+w39").get_json()["facets"] == first


def test_date_range_documents_are_kept_within_their_budget(discovery_client):
    from searchsvc.engine.embedded.state import BoundedCache

    state = _generation_state(discovery_client)
    state.date_ranges = ranges = BoundedCache(2_000)
    totals = {}
    for year in range(2000, 2020):
        body = discovery_client.get(f"/api/search?q=date:[{year}+to]").get_json()
        totals[year] = body["total"]
        assert ranges.used <= 2_000
    assert totals[2000] >= totals[2019] and totals[2000] > 0
    for year in (2000, 2010):  # evicted or not, the same answer
        assert (
            discovery_client.get(f"/api/search?q=date:[{year}+to]").get_json()["total"]
            == (totals[year])
        )


@pytest.mark.parametrize(
    "text, corrected",
    [("parliment", True),
     ("oil NOT parliment", False),  # an excluded word is not searched for, corrected or not
     ("oil -parliment", False),
     ("tanks surge into a gaza refugee camp -parliment", True),  # the sign is punctuation
     ("oil parliam", True),  # the last word, completed
     ("oil NOT parliam", False)],
)  # fmt: skip
def test_typo_clauses_follow_how_the_text_is_read(snapshot_, text, corrected):
    from searchsvc.engine.embedded import typos as suggest

    searcher, _ = snapshot_.searchers()
    clauses = suggest.tolerant_clauses(text, searcher, suggest.vocabulary_for(searcher))
    assert ("parliament" in {clause.text for clause in clauses}) == corrected
