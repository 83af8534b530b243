"""Whatever people type: never a 500, never a hang; a search, or a 400 for a documented limit.

Runs against the WSGI app (the same code gunicorn serves) over a generated
corpus big enough for wildcard expansion to cost something.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reliability_support import MARKER, write_filler, write_markers

from searchsvc import create_app
from searchsvc.config import load_config
from searchsvc.engine.embedded.querying import MAX_SLOP
from searchsvc.index.indexer import reindex
from searchsvc.web.complete import MAX_COMPLETE_LENGTH

SECONDS_PER_REQUEST = 5.0  # generous: the machine is shared; a hang takes far longer
ENDPOINTS = ("/api/search", "/search")
EVERY_ENDPOINT = (*ENDPOINTS, "/", "/api/complete", "/search.atom", "/search.csv", "/search.jsonl")
FIELDS = ("q", "page", "size", "since", "until", "source", "sort")

HOSTILE = [
    '"unbalanced', "(oil", "oil)", "((((((((((((((((((((", "))))", '"', "'", "\\", "oil\\",
    "AND", "OR", "NOT", "AND OR NOT", "NOT NOT NOT", "-", "+", "- - -", "^", "~", "oil^99999999",
    "oil~2", "market~ " * 50, ":", "foo:bar", "title:", "nosuchfield:x", "date:", "source:",
    "id:f0-1", "*", "a*", "*a", "**", "*:*", "-*", "m*t", "ma*", "title:ma*", "ma* ba* ca* da*",
    "[a to z]", "body:[a to]", "{a to z}", "date:[1980 to]", "date:[1990 to 1980]",
    "date:1987*", "date:2017-13", "date:1987-02-30", "date:yesterday", "date:[9999999 to 1]",
    "\x00", "a\x00b", "\x1b[31mred", "\u202eright-to-left\u202c", "مرحبا بالعالم", "שלום",
    "😀🔥 market", "\ufeff", "\ud7ff", "e\u0301\u0301\u0301", "ﷺ" * 300, "a" * 1000,
    "market " * 140, '"' + "market " * 140 + '"', "market OR " * 100, "-market " * 100,
    "<script>alert(1)</script>", "%00%ff", "../../etc/passwd", "{{7*7}}", "${jndi:ldap://x}",
]  # fmt: skip

# Field values the parser cannot read: searched as their words.
UNREADABLE = ["date:[x to y]", "date:[a to b]", "record:x", "date:0000", "date:[0000 to 0001]",
              "title:(date:0000)", "oil date:[2017 to someday]"]  # fmt: skip
BAD_PARAMETERS = [
    {"page": "0"}, {"page": "-1"}, {"page": "1e3"}, {"page": "99999999999999999999"},
    {"page": "²"}, {"size": "１"}, {"size": "0"}, {"size": "101"}, {"size": "-5"},
    {"size": "100", "page": "101"}, {"since": "yesterday"}, {"since": "0000"},
    {"since": "2017-02-30"}, {"since": "0001-01-01T00:00:00+01:00"}, {"until": "99999"},
    {"since": "2018", "until": "2017"}, {"sort": "score"}, {"sort": "\x00"},
    {"source": "x" * 5000}, {"q": "x" * 100_000},
]  # fmt: skip
FINE_PARAMETERS = [
    {"since": "0001-01-01"}, {"until": "9999-12-31"}, {"since": "9999"}, {"sort": "DATE"},
    {"source": "\x00"}, {"source": "مرحبا"}, {"page": " 2 "}, {"size": "100", "page": "100"},
    {"q": "x" * 1000},
]  # fmt: skip


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    write_filler(root / "corpus", files=2, per_file=150)
    write_markers(root / "corpus" / "markers.jsonl", "m", 10)
    reindex([root / "corpus"], root / "index")
    app = create_app({"index": root / "index"})
    return app.test_client()


# The only reasons to refuse a request (docs/limits.md); the query's text never is one.
LIMIT_CODES = {"query_too_long", "bad_parameter", "page_too_deep", "bad_request"}


def _check(client, path: str, query_string) -> int:
    started = time.monotonic()
    response = client.get(path, query_string=query_string)
    elapsed = time.monotonic() - started
    assert response.status_code in (200, 400), (query_string, response.status_code)
    assert elapsed < SECONDS_PER_REQUEST, (query_string, elapsed)
    if path.startswith("/api/"):
        body = response.get_json()
        if response.status_code == 400:
            assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
            assert body["error"]["message"] and body["error"]["code"] in LIMIT_CODES
        elif path == "/api/search":
            assert isinstance(body["hits"], list) and body["total"] >= len(body["hits"])
    elif path in ("/", "/search") or response.status_code == 400:
        assert response.mimetype == "text/html"
    return response.status_code


@pytest.mark.parametrize("path", EVERY_ENDPOINT)
@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_query_text(hostile_client, path, q):
    too_long = path == "/api/complete" and len(q) > MAX_COMPLETE_LENGTH
    assert _check(hostile_client, path, {"q": q}) == (400 if too_long else 200)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("q", UNREADABLE)
def test_unreadable_field_values_are_searched(hostile_client, path, q):
    assert _check(hostile_client, path, {"q": q}) == 200


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("params", BAD_PARAMETERS)
def test_bad_parameters_are_a_400(hostile_client, path, params):
    assert _check(hostile_client, path, params) == 400


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("params", FINE_PARAMETERS)
def test_odd_but_valid_parameters_answer(hostile_client, path, params):
    assert _check(hostile_client, path, params) == 200


def test_only_the_length_of_a_query_refuses_it(hostile_client):
    too_long = "x" * (load_config(environ={}).max_query_length + 1)
    response = hostile_client.get("/api/search", query_string={"q": too_long})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "query_too_long"


# Past a bound (docs/limits.md): searched all the same, within the bound or as plain words
# (the plain forms keep typo tolerance from adding words that the others do not get).
@pytest.mark.parametrize(
    "q, same_as",
    [("*", "!!!"), ("**", "!!!"), ("*:*", "!!!"), ("zanzibar* qq* qx* qz*", MARKER),
     ("qq* qx* qz* zanzibar*", "zanzibar qq qx qz"),
     (f'"{MARKER} report"~999999999', f'"{MARKER} report"~{MAX_SLOP}'),
     (f"{MARKER}^" + "9" * 400, MARKER), ("[zanzibarquux to zz]", "zanzibarquux zz"),
     ("date:[zanzibarquux to 1990]", "date: zanzibarquux 1990"),
     ('" a* b* c* d* e* f* g* h* i* j* k* l* m* n* o* p* q* r* s* t* u* v* w* x* y* z*',
      "a b c d e f g h i j k l m n o p q r s t u v w x y z")],
)  # fmt: skip
def test_queries_past_a_bound_are_searched(hostile_client, q, same_as):
    response = hostile_client.get("/api/search", query_string={"q": q, "size": 100})
    expected = hostile_client.get("/api/search", query_string={"q": same_as, "size": 100})
    assert response.status_code == expected.status_code == 200
    found, plain = response.get_json(), expected.get_json()
    assert found["total"] == plain["total"]
    assert [hit["id"] for hit in found["hits"]] == [hit["id"] for hit in plain["hits"]]


def test_wildcards_within_limits_still_work(hostile_client):
    body = hostile_client.get("/api/search?q=zanzibar*").get_json()
    assert body["total"] == 10
    body = hostile_client.get("/api/search?q=" + "%22ma*%22").get_json()  # a phrase: literal
    assert body["total"] == 0


@pytest.mark.parametrize(
    "raw",
    [b"q=%ff%fe", b"q=\xff\xfe\xfd", b"q=%c3", b"since=%ff", b"source=\xc3\x28", b"q=%",
     b"q=%zz&size=%ff", b"q=a&q=b&page=1&page=x", b"\xff=\xff"],
)  # fmt: skip
@pytest.mark.parametrize("path", ENDPOINTS)
def test_invalid_utf8_in_the_url(hostile_client, path, raw):
    # Straight into the WSGI environ: the bytes a client sent, undecoded (PEP 3333: latin-1).
    response = hostile_client.get(path, environ_overrides={"QUERY_STRING": raw.decode("latin-1")})
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("raw", [b"/api/articles/\xff\xfe", b"/articles/\xc3", b"/\xff"])
def test_invalid_utf8_in_the_path(hostile_client, raw):
    response = hostile_client.get("/", environ_overrides={"PATH_INFO": raw.decode("latin-1")})
    assert response.status_code in (200, 404)


_pieces = st.sampled_from(
    HOSTILE + ['"', "(", ")", "[", "]", "{", "}", " to ", ":", "*", "-", "+", "^", "~",
               "title:", "source:", "topic:", "date:", "headline:", "AND", "OR", "NOT"]
)  # fmt: skip
_text = st.text(st.characters(codec="utf-8"), max_size=30)
_query = st.lists(st.one_of(_pieces, _text), max_size=8).map(" ".join)
_number = st.one_of(
    st.integers(-(10**12), 10**12).map(str), st.sampled_from(["", " ", "1.5", "0x10", "1e9"]), _text
)
_date = st.one_of(
    st.dates().map(str), st.integers(0, 99999).map(str), st.sampled_from(["2017-13", "x"]), _text
)
_params = st.fixed_dictionaries(
    {},
    optional={
        "q": _query,
        "page": _number,
        "size": _number,
        "since": _date,
        "until": _date,
        "source": _text,
        "sort": st.one_of(st.sampled_from(["relevance", "date", "DATE"]), _text),
    },
)


@given(params=_params, path=st.sampled_from(EVERY_ENDPOINT))
@example(params={"q": "title:( OR -"}, path="/api/search")
@example(params={"q": "date:[0000 to x] record:"}, path="/api/search")
@example(params={"q": "😀 \u202e\x00 ma*", "page": "-3", "since": "x"}, path="/search")
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_parameters_never_500(hostile_client, params, path):
    _check(hostile_client, path, params)
