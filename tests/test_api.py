"""The JSON API: every parameter, the article endpoint, health, and every error path.

Each test runs on both engines (conftest `engine`), which must answer alike."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from searchsvc.config import load_config

MAX_QUERY_LENGTH = load_config(environ={}).max_query_length  # the default
HIT_KEYS = {"id", "title", "title_html", "title_derived", "date", "source", "score",
            "snippets", "snippet_paragraphs", "url", "source_url"}  # fmt: skip


@pytest.fixture
def client(engine_client):
    """The app over conftest's corpus, on each engine in turn."""
    return engine_client


def get(client, query: str):
    response = client.get("/api/search?" + query)
    return response.status_code, response.get_json()


def test_search_body_shape(client):
    status, body = get(client, "q=police")
    assert status == 200
    assert {"query", "total", "total_exact", "page", "size", "took_ms", "hits"} <= body.keys()
    assert (body["query"], body["page"], body["size"], body["total_exact"]) == (
        "police", 1, 10, True,
    )  # fmt: skip
    assert body["total"] == len(body["hits"]) == 2
    for hit in body["hits"]:
        assert HIT_KEYS <= hit.keys()
        assert hit["url"] == "/api/articles/".replace("/api", "") + hit["id"]
    assert body["hits"][0]["score"] >= body["hits"][1]["score"]


def test_hit_url_opens_the_article_page(client):
    _, body = get(client, "q=rovers")
    (hit,) = body["hits"]
    assert hit["id"] == "sport/cup-final" and hit["url"] == "/articles/sport%2Fcup-final"
    page = client.get(hit["url"])
    assert page.status_code == 200 and b"Rovers win the cup final" in page.data


def test_source_url_and_metadata(client):
    _, body = get(client, "q=bravery")
    (hit,) = body["hits"]
    assert hit["source_url"] == "https://example.org/wire-3"
    assert (hit["source"], hit["date"], hit["title_derived"]) == ("Gazette", "2018-05-01", False)
    assert hit["title_html"] == "Police officer honoured for <mark>bravery</mark>"


def test_derived_title_is_flagged(client):
    _, body = get(client, "q=ambulance")
    (hit,) = body["hits"]
    assert hit["id"] == "london" and hit["title_derived"] is True


def test_snippets_mark_words_and_escape_the_rest(client):
    _, body = get(client, "q=windows")
    (hit,) = body["hits"]
    assert hit["snippets"] == [
        "Members of Parliament were locked in and told to stay away from <mark>windows</mark>."
    ]


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("q=%22interest+rates%22", {"wire-2"}),
        ("q=police+-bravery", {"london"}),
        ("q=cocoa+OR+rovers", {"wire-1", "sport/cup-final"}),
        ("q=title:police", {"wire-3"}),
        ("q=police+source:gazette", {"wire-3"}),
        ("q=topic:cocoa", {"wire-1"}),
        ("q=date:1987", {"wire-1", "wire-2"}),
        ("q=date:[1987-03+to+2018]", {"wire-2", "wire-3", "london"}),
        ("q=parliam*", {"london"}),
        ("q=What+did+the+central+bank+decide+about+interest+rates%3F", {"wire-2", "wire-1"}),
        ("q=the", set()),  # only a function word: kept, and absent from no article
        ("q=!!!", set()),
    ],
)
def test_query_language(client, query, ids):
    status, body = get(client, query)
    assert status == 200
    found = {hit["id"] for hit in body["hits"]}
    if query == "q=the":
        assert found  # not swallowed as a stop word when it is all there is
    elif query.startswith("q=What"):
        assert body["hits"][0]["id"] == "wire-2"
    else:
        assert found == ids


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("q=police&source=Gazette", {"wire-3"}),
        ("q=police&source=reuters", set()),
        ("since=2018", {"wire-3"}),
        ("until=1987-02", {"wire-1"}),
        ("until=1987", {"wire-1", "wire-2"}),
        ("since=1987-03-01&until=1987-03-31", {"wire-2"}),
        ("q=officer&since=2017-03-22&until=2017-03-22", {"london"}),
    ],
)
def test_filters(client, query, ids):
    status, body = get(client, query)
    assert status == 200
    assert {hit["id"] for hit in body["hits"]} == ids


def test_empty_query_lists_everything_newest_first(client):
    _, body = get(client, "")
    assert body["total"] == 5
    dates = [hit["date"] for hit in body["hits"] if hit["date"]]
    assert dates == sorted(dates, reverse=True)


def test_sort_by_date(client):
    _, body = get(client, "q=police+officer+rates&sort=date")
    dates = [hit["date"] for hit in body["hits"]]
    assert dates == sorted(dates, reverse=True)


def test_pagination(client):
    _, first = get(client, "size=2&page=1")
    _, second = get(client, "size=2&page=2")
    _, third = get(client, "size=2&page=3")
    _, past = get(client, "size=2&page=9")
    pages = [first, second, third]
    assert [len(p["hits"]) for p in pages] == [2, 2, 1]
    assert all(p["total"] == 5 for p in pages + [past])
    assert len({hit["id"] for p in pages for hit in p["hits"]}) == 5
    assert past["hits"] == []


@pytest.mark.parametrize(
    ("query", "code", "text"),
    [
        ("page=0", "bad_parameter", "page"),
        ("page=-1", "bad_parameter", "page"),
        ("page=abc", "bad_parameter", "page"),
        ("page=1.5", "bad_parameter", "page"),
        ("size=0", "bad_parameter", "size"),
        ("size=101", "bad_parameter", "size"),
        ("size=99999999999999999999", "bad_parameter", "size"),
        ("page=1001&size=10", "page_too_deep", "10000"),
        ("since=yesterday", "bad_parameter", "since"),
        ("until=2017-13-01", "bad_parameter", "until"),
        ("since=2018&until=2017", "bad_parameter", "since"),
        ("sort=random", "bad_parameter", "sort"),
        ("q=" + "x" * (MAX_QUERY_LENGTH + 1), "query_too_long", f"{MAX_QUERY_LENGTH}"),
    ],
)
def test_bad_parameters_answer_400_with_one_error_shape(client, query, code, text):
    status, body = get(client, query)
    assert status == 400
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert text in body["error"]["message"]


# Pasted text is searched as its words wherever the query language cannot read it.
PASTED = [
    ("Superstars and attendance (was Teemu Selanne, was +/- leaders)",
     "Superstars and attendance was Teemu Selanne was leaders"),
    ("Strange phenomens in NHL (was: Team leaders in +/-)",
     "Strange phenomens in NHL was Team leaders in"),
    ("** Oscilloscope for sale $99 + probes $25 ea. **", "Oscilloscope for sale 99 probes 25 ea"),
    ("Borland C++ 3.1 w/App Frmwrks ** FORSALE **", "Borland C 3.1 w App Frmwrks FORSALE"),
    ("Police officer stabbed (was: +/- London attack)", "Police officer stabbed was London attack"),
    ("date:[2017-13 to x] cocoa", "date 2017 13 to x cocoa"),
    ("[a to z] officer* honoured", "a z officer* honoured"),
]  # fmt: skip


@pytest.mark.parametrize("pasted, words", PASTED)
def test_pasted_text_is_searched_as_its_words(engine, pasted, words):
    # Without typo tolerance, which looks at words as typed (with their punctuation).
    client = engine.built().app(rank_typo_tolerance="false").test_client()
    status, body = get(client, urlencode({"q": pasted}))
    _, plain = get(client, urlencode({"q": words}))
    assert status == 200 and body["query"] == pasted
    assert [hit["id"] for hit in body["hits"]] == [hit["id"] for hit in plain["hits"]]


def test_pasted_text_finds_articles(client):
    status, body = get(client, urlencode({"q": "Police officer stabbed (was: +/- London attack)"}))
    assert status == 200 and "london" in {hit["id"] for hit in body["hits"]}


def test_article_endpoint(client):
    response = client.get("/api/articles/wire-1")
    body = response.get_json()
    assert response.status_code == 200
    assert body["id"] == "wire-1" and body["title"] == "Cocoa prices rise on drought fears"
    assert body["paragraphs"] == [
        "Cocoa prices rose sharply as drought hit the Bahia zone.",
        "Traders said the dry weather would cut the coming harvest.",
    ]
    assert body["extra"] == {"topics": ["cocoa"]}
    assert body["url"] == "/articles/wire-1"


def test_article_with_slash_in_id(client):
    assert client.get("/api/articles/sport/cup-final").get_json()["id"] == "sport/cup-final"
    assert client.get("/api/articles/sport%2Fcup-final").get_json()["id"] == "sport/cup-final"


@pytest.mark.parametrize("path", ["/api/articles/nope", "/api/nothing", "/api/articles/"])
def test_unknown_api_paths_are_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_json_405(client):
    response = client.post("/api/search?q=x")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_healthz(engine, client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert (body["articles"], body["paragraphs"]) == (5, 10)
    # The generation's name is the engine's own: a directory, or an index behind the alias.
    named = {"whoosh": "gen-", "opensearch": engine.built().target.where + "-g"}[engine.name]
    assert body["built_at"] and body["generation"].startswith(named)


@pytest.mark.parametrize("path", ["/api/search?q=x", "/healthz"])
def test_no_index_is_503_not_500(engine, path):
    from searchsvc import create_app

    client = create_app(engine.target("none").config).test_client()
    response = client.get(path)
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "no_index"


def test_ranking_settings_passed_to_the_app_are_used(engine):
    app = engine.built().app(rank_lead_words=0)
    served = app.extensions["searchsvc.engine"]
    # Where the engine keeps its ranking settings is its own: the embedded engine's
    # index handle, the OpenSearch engine itself.
    ranking = served.handle.ranking if engine.name == "whoosh" else served.ranking
    assert ranking.lead_words == 0


def test_typos_and_a_half_typed_last_word_still_find_articles(client):
    _, body = get(client, "q=cocao+prices")
    assert body["hits"][0]["id"] == "wire-1"
    _, body = get(client, "q=interest+ra")
    assert body["hits"][0]["id"] == "wire-2"


def test_typo_tolerance_can_be_turned_off(engine):
    client = engine.built().app(rank_typo_tolerance="false").test_client()
    assert client.get("/api/search?q=cocao").get_json()["total"] == 0
    assert client.get("/api/search?q=cocao").get_json()["suggestion"] == "cocoa"


def test_date_sorted_hits_have_no_relevance_score(client):
    _, body = get(client, "q=police&sort=date")
    assert body["hits"] and all(hit["score"] is None for hit in body["hits"])


def test_results_found_only_through_corrections_are_flagged(client):
    assert get(client, "q=cocao")[1]["corrected"] is True
    assert get(client, "q=cocoa")[1]["corrected"] is False


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/api/search?q=oil", "/api/articles/wire-1", "/api/complete?q=oi"],
)
def test_an_unreachable_cluster_is_a_json_503_within_the_timeout(path):
    """Nothing listens on port 1: every JSON answer is the one error shape, soon."""
    import time

    from searchsvc import create_app

    app = create_app({"engine": "opensearch", "opensearch_url": "http://127.0.0.1:1",
                      "opensearch_index": "nowhere", "opensearch_timeout": 2})  # fmt: skip
    started = time.monotonic()
    response = app.test_client().get(path)
    assert time.monotonic() - started < 10
    assert (response.status_code, response.mimetype) == (503, "application/json")
    error = response.get_json()["error"]
    assert error["code"] == "engine_unavailable" and "cannot reach" in error["message"]


@pytest.mark.parametrize(
    "typed, same_as",
    [("police officer NOT parliament", "police officer -parliament"),
     ("officer OR NOT parliament", "officer -parliament"),
     ("POLICE OFFICER HONOURED NOT AT PARLIAMENT", "police officer honoured not at parliament"),
     ("Police officer honoured for bravery -London", "Police officer honoured for bravery London")],
)  # fmt: skip
def test_operators_and_signs_as_a_user_means_them(engine, typed, same_as):
    client = engine.built().app(rank_typo_tolerance="false").test_client()
    _, body = get(client, urlencode({"q": typed}))
    _, expected = get(client, urlencode({"q": same_as}))
    assert body["total"] == expected["total"] > 0
    assert [hit["id"] for hit in body["hits"]] == [hit["id"] for hit in expected["hits"]]
    found = {hit["id"] for hit in body["hits"]}
    if "NOT parliament" in typed:  # excluded, and never marked
        assert found == {"wire-3"}
    else:
        assert "london" in found
