"""Which articles a query counts: a short query's total and facets are its articles with
every word (listed first when sorted by date; by relevance the ranking is unchanged);
explicit operators, phrases, filters and exclusions keep their meaning, and a query whose
words no article has together counts any of them."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from conftest import write_corpus
from hypothesis import given, settings
from hypothesis import strategies as st

from searchsvc import create_app
from searchsvc.index.indexer import reindex

FILLER = " ".join(f"shipment{n} cargo{n} vessel{n} market{n}" for n in range(40))
RECORDS = [
    {"id": "coffee-1", "title": "Coffee prices rise in Brazil", "date": "1987-03-01",
     "source": "Reuters", "topics": ["coffee"],
     "body": "Coffee prices rose as frost hit the crop in Brazil."},
    {"id": "coffee-2", "title": "Harvest begins early", "date": "1987-04-01", "source": "AP",
     "topics": ["coffee"], "body": "The coffee harvest began early in Colombia."},
    {"id": "coffee-3", "title": "Coffee, coffee and more coffee", "date": "1987-06-01",
     "source": "AP", "topics": ["coffee"],
     "body": "Coffee shops served coffee to coffee drinkers all day."},
    {"id": "export-1", "title": "Export report for the quarter", "date": "1987-01-15",
     "source": "Reuters", "topics": ["trade"],
     "body": f"{FILLER} The report also listed coffee among goods whose prices moved."},
    {"id": "oil-1", "title": "Oil prices fall", "date": "1987-05-01", "source": "Reuters",
     "topics": ["crude"], "body": "Oil prices fell in Brazil on news from OPEC."},
    {"id": "steel-1", "title": "Steel prices steady", "date": "1987-02-01", "source": "AP",
     "topics": ["steel"], "body": "Steel prices held steady at the mills."},
    {"id": "tea-1", "title": "Tea auction", "date": "1987-02-10", "source": "Gazette",
     "topics": ["tea"], "body": "Tea and coffee sold well at the weekly auction."},
]  # fmt: skip
ANY_COFFEE_OR_PRICES = {"coffee-1", "coffee-2", "coffee-3", "export-1", "oil-1", "steel-1", "tea-1"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("counts")
    corpus = write_corpus(root / "corpus", text_articles={}, jsonl_records=RECORDS)
    reindex([corpus], root / "index")
    app = create_app({"index": root / "index", "corpus": [corpus]})
    app.config["TESTING"] = True
    return app.test_client()


def search(client, q: str, **args) -> dict:
    response = client.get("/api/search?" + urlencode({"q": q, "size": 100, **args}))
    assert response.status_code == 200, response.data
    return response.get_json()


def ids(body: dict) -> list[str]:
    return [hit["id"] for hit in body["hits"]]


@pytest.mark.parametrize(
    ("q", "counted"),
    [
        ("coffee prices", {"coffee-1", "export-1"}),
        ("Coffee Prices", {"coffee-1", "export-1"}),
        ("prices of coffee", {"coffee-1", "export-1"}),  # a function word is not required
        ("coffee prices brazil", {"coffee-1"}),
        ("coffee prices -brazil", {"export-1"}),  # an exclusion stays an exclusion
        ("coffee prices NOT brazil", {"export-1"}),  # NOT as -: the same count
        ("coffee prices source:reuters", {"coffee-1", "export-1"}),
        ("coffee prices topic:trade", {"export-1"}),
        ('"coffee prices" brazil', {"coffee-1"}),  # a phrase is one of the words required
        ("title:coffee prices", {"coffee-1"}),  # a word in one field is one of them too
        ("coffe* prices", {"coffee-1", "export-1"}),  # so is a wildcard
        ("cofee prices", {"coffee-1", "export-1"}),  # a misspelled word, by its correction
        ("coffee pric", {"coffee-1", "export-1"}),  # an unfinished one, by its completions
        ("coffee", {"coffee-1", "coffee-2", "coffee-3", "export-1", "tea-1"}),
        # Operators keep their meaning: OR is any word, AND every word.
        ("coffee OR prices", ANY_COFFEE_OR_PRICES),
        ("coffee AND prices", {"coffee-1", "export-1"}),
        # No article has both words: any of them counts.
        ("oil coffee", {"coffee-1", "coffee-2", "coffee-3", "export-1", "oil-1", "tea-1"}),
        ("coffee prices source:ap", {"coffee-2", "coffee-3", "steel-1"}),
        # More than three words: any of them.
        ("coffee prices oil steel", ANY_COFFEE_OR_PRICES),
    ],
)
def test_the_total_counts_what_newest_first_lists_first(client, q, counted):
    body = search(client, q, sort="date")
    assert body["total"] == len(counted)
    assert set(ids(body)[: body["total"]]) == counted
    assert search(client, q)["total"] == len(counted)


def test_short_query_counts_and_facets_only_articles_with_every_word(client):
    body = search(client, "coffee prices")
    assert body["total"] == 2
    topics = {facet["value"]: facet["count"] for facet in body["facets"]["topic"]}
    sources = {facet["value"]: facet["count"] for facet in body["facets"]["source"]}
    assert (topics, sources) == ({"coffee": 1, "trade": 1}, {"reuters": 2})
    assert sum(bucket["count"] for bucket in body["facets"]["date"]["buckets"]) == 2
    widened = search(client, "coffee OR prices")
    assert {facet["value"]: facet["count"] for facet in widened["facets"]["topic"]} == {
        "coffee": 3, "crude": 1, "steel": 1, "tea": 1, "trade": 1,
    }  # fmt: skip


def test_by_relevance_the_ranking_is_that_of_any_word(client):
    short, widened = search(client, "coffee prices"), search(client, "coffee OR prices")
    assert short["hits"] == widened["hits"]
    # The coffee-only article outscores the long report that has both words.
    assert ids(short).index("coffee-3") < ids(short).index("export-1")


def test_newest_first_lists_the_articles_with_every_word_first(client):
    body = search(client, "coffee prices", sort="date")
    assert body["total"] == 2
    assert ids(body) == ["coffee-1", "export-1", "coffee-3", "oil-1", "coffee-2", "tea-1",
                         "steel-1"]  # fmt: skip


@pytest.mark.parametrize(("size", "page", "expected"), [
    (1, 1, ["coffee-1"]),
    (1, 2, ["export-1"]),
    (1, 3, ["coffee-3"]),  # past the total: the articles with some of the words
    (2, 2, ["coffee-3", "oil-1"]),
    (4, 2, ["coffee-2", "tea-1", "steel-1"]),
    (4, 3, []),
])  # fmt: skip
def test_newest_first_pages_through_both_parts(client, size, page, expected):
    body = search(client, "coffee prices", sort="date", size=size, page=page)
    assert (ids(body), body["total"]) == (expected, 2)


def test_the_page_says_the_count(client):
    page = client.get("/search?" + urlencode({"q": "coffee prices"}))
    assert page.status_code == 200
    text = " ".join(page.get_data(as_text=True).split())
    assert "2 stories for <strong>coffee prices</strong>" in text
    assert "Timeline: 2 dated matching articles" in text


WORDS = ["coffee", "prices", "brazil", "oil", "steel", "tea", "harvest", "auction", "frost"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4, unique=True))
def test_counting_never_changes_what_matches_or_how_it_ranks(client, words):
    short, widened = search(client, " ".join(words)), search(client, " OR ".join(words))
    every = search(client, " AND ".join(words))
    assert short["hits"] == widened["hits"]
    newest = search(client, " ".join(words), sort="date")
    assert set(ids(newest)) == set(ids(widened))
    total = short["total"]
    if len(words) <= 3 and every["total"]:
        assert total == every["total"] and set(ids(newest)[:total]) == set(ids(every))
        assert short["facets"] == every["facets"]
    else:
        assert total == widened["total"] and short["facets"] == widened["facets"]
    assert newest["total"] == total
    for part in (newest["hits"][:total], newest["hits"][total:]):
        dates = [hit["date"] for hit in part]
        assert dates == sorted(dates, reverse=True)


TOKENS = ["coffee", "prices", "brazil", "oil", "OR", "AND", "NOT", "-brazil", "+tea",
          '"coffee prices"', "coffe*", "source:ap", "topic:coffee", "(", ")", "cofee", "of",
          "zzyzx", "pric"]  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=5))
def test_what_is_counted_is_always_among_what_matches(client, tokens):
    q = " ".join(tokens)
    by_relevance, newest = search(client, q), search(client, q, sort="date")
    assert set(ids(by_relevance)) == set(ids(newest))  # all of them: the corpus is small
    total = by_relevance["total"]
    assert total == newest["total"] <= len(by_relevance["hits"])
    assert all(facet["count"] <= total for facet in by_relevance["facets"]["topic"])
    for part in (newest["hits"][:total], newest["hits"][total:]):
        dates = [hit["date"] for hit in part]
        assert dates == sorted(dates, reverse=True)
